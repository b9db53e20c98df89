package interop

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BundleSA is an ESP+AH bundle (AH over ESP, RFC 4301 section 4.5; NDIS's only combined
// order) for bundle_scapy.py: the ESP SA applied first, then the AH SA over the result.
type BundleSA struct {
	ESP, AH SuiteSA
}

type bundleJSON struct {
	ESP suiteJSON `json:"esp"`
	AH  suiteJSON `json:"ah"`
}

//go:embed bundle_scapy.py suites_scapy.py
var bundleScripts embed.FS

// runBundle runs bundle_scapy.py (next to the suites_scapy.py it imports) with args and
// returns its standard output; a non-zero exit is fatal.
func runBundle(t testing.TB, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"bundle_scapy.py", "suites_scapy.py"} {
		b, err := bundleScripts.ReadFile(name)
		if err != nil {
			t.Fatalf("interop: embedded script: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	cmd := exec.Command(python, append([]string{filepath.Join(dir, "bundle_scapy.py")}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop: bundle_scapy.py %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// VerifyBundleScapy checks every packet of the pcap at pcapPath as an ESP+AH packet of b:
// the AH ICV over scapy's zero_mutable_fields() image (scapy 2.5 signs and checks AH over
// ESP as if it were ESP, so bundle_scapy.py computes it), then the ESP part with AH taken
// out, through suites_scapy.py (scapy's SecurityAssociation). One Result per packet, with
// ESP's next header, pad length and the decapsulated bytes after the IP header. Each part's
// SeqHi is the high half of every packet. Without scapy the test is skipped (see Require).
func VerifyBundleScapy(t testing.TB, pcapPath string, b BundleSA) []Result {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	out := runBundle(t, "verify", writeJSON(t, t.TempDir(), "bundle.json", bundleJSON{b.ESP.toJSON(), b.AH.toJSON()}), pcapPath)
	var results []Result
	for n, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r resultJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("interop: bundle_scapy.py output line %d %q: %v", n+1, line, err)
		}
		inner, err := hex.DecodeString(r.Inner)
		if err != nil {
			t.Fatalf("interop: bundle_scapy.py output line %d: inner: %v", n+1, err)
		}
		if len(inner) == 0 {
			inner = nil
		}
		results = append(results, Result{Index: r.Index, SPI: r.SPI, Seq: r.Seq, OK: r.OK, Skipped: r.Skipped,
			Reason: r.Reason, NextHeader: r.NextHeader, PadLen: r.PadLen, Inner: inner})
	}
	return results
}

// EncryptBundleScapy protects every plain IP packet of plainPcap with b, transport mode over
// the packet's own IP header: ESP with sequence number espStart+i (scapy), then AH over the
// result with ahStart+i (ICV computed by bundle_scapy.py), and writes outPcap (raw IP).
// Without scapy the test is skipped (see Require).
func EncryptBundleScapy(t testing.TB, plainPcap, outPcap string, b BundleSA, espStart, ahStart uint64) {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	p := writeJSON(t, t.TempDir(), "bundle.json", bundleJSON{b.ESP.toJSON(), b.AH.toJSON()})
	runBundle(t, "encrypt", p, strconv.FormatUint(espStart, 10), strconv.FormatUint(ahStart, 10), plainPcap, outPcap)
}
