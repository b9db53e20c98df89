package interop

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SuiteSA describes to suites_scapy.py an SA of the suites beyond AES-GCM: ESP with AES-CBC
// (RFC 3602) or NULL encryption (RFC 2410) and HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128
// (RFC 4868), or AH (RFC 4302) with either HMAC or AES-GMAC (RFC 4543).
type SuiteSA struct {
	// Proto is "esp" or "ah".
	Proto string
	// SPI is the Security Parameters Index on the wire.
	SPI uint32
	// Enc is the ESP encryption: "aes-cbc" or "null". Empty for AH.
	Enc string
	// EncKey is the AES-CBC key (16, 24 or 32 bytes); nil for NULL and AH.
	EncKey []byte
	// Auth is "hmac-sha1-96", "hmac-sha256-128", or for AH also "gmac".
	Auth string
	// AuthKey is the HMAC key, or for "gmac" the AES key followed by the 4-byte salt.
	AuthKey []byte
	// ESN says the SA authenticates the high half of a 64-bit sequence number.
	ESN bool
	// SeqHi is that high half for every packet VerifySuitesScapy checks (it infers nothing).
	SeqHi uint32
	// Dst is the SA's destination; an invalid (zero) Dst matches any.
	Dst netip.Addr
}

type suiteJSON struct {
	Proto   string `json:"proto"`
	SPI     uint32 `json:"spi"`
	Enc     string `json:"enc"`
	EncKey  string `json:"enc_key"`
	Auth    string `json:"auth"`
	AuthKey string `json:"auth_key"`
	ESN     bool   `json:"esn"`
	SeqHi   uint32 `json:"seq_hi"`
	Dst     string `json:"dst"`
}

func (sa SuiteSA) toJSON() suiteJSON {
	return suiteJSON{Proto: sa.Proto, SPI: sa.SPI, Enc: sa.Enc, EncKey: hex.EncodeToString(sa.EncKey),
		Auth: sa.Auth, AuthKey: hex.EncodeToString(sa.AuthKey), ESN: sa.ESN, SeqHi: sa.SeqHi, Dst: addrText(sa.Dst)}
}

//go:embed suites_scapy.py bundle_scapy.py
var scapyScripts embed.FS

// runScapy runs script, one of the embedded scripts, with args, beside the others (bundle_scapy.py
// imports suites_scapy.py), and returns its standard output; a non-zero exit is fatal, with
// the script's standard error in the message.
func runScapy(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"suites_scapy.py", "bundle_scapy.py"} {
		b, err := scapyScripts.ReadFile(name)
		if err != nil {
			t.Fatalf("interop: embedded script: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	cmd := exec.Command(python, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop: %s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// scapyResults reads the result lines script printed, one JSON object per packet.
func scapyResults(t testing.TB, script string, out []byte) []Result {
	t.Helper()
	var results []Result
	for n, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r resultJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("interop: %s output line %d %q: %v", script, n+1, line, err)
		}
		inner, err := hex.DecodeString(r.Inner)
		if err != nil {
			t.Fatalf("interop: %s output line %d: inner: %v", script, n+1, err)
		}
		if len(inner) == 0 {
			inner = nil
		}
		results = append(results, Result{Index: r.Index, SPI: r.SPI, Seq: r.Seq, OK: r.OK, Skipped: r.Skipped,
			Reason: r.Reason, NextHeader: r.NextHeader, PadLen: r.PadLen, Inner: inner})
	}
	return results
}

// VerifySuitesScapy checks every packet of the pcap at pcapPath against sas with scapy 2.5's
// scapy.layers.ipsec (suites_scapy.py): ESP packets are verified and decrypted by its
// SecurityAssociation, AH packets verified over its zero_mutable_fields() image, and one
// Result per packet comes back: OK, Reason, NextHeader, PadLen (ESP) and Inner, the bytes
// after the IP header once decapsulated (the transport payload, or the inner packet in tunnel
// mode). Where scapy 2.5 falls short the script fills in (ESP HMAC with ESN, AES-GMAC in AH:
// see its docstring). Without scapy and cryptography the test is skipped (see Require).
func VerifySuitesScapy(t testing.TB, pcapPath string, sas []SuiteSA) []Result {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	js := make([]suiteJSON, len(sas))
	for i, sa := range sas {
		js[i] = sa.toJSON()
	}
	out := runScapy(t, "suites_scapy.py", "verify", writeJSON(t, t.TempDir(), "sas.json", js), pcapPath)
	return scapyResults(t, "suites_scapy.py", out)
}

// EncryptSuitesScapy protects every plain IP packet of the pcap at plainPcap with sa using
// scapy (suites_scapy.py) and writes the packets to outPcap (raw IP, link type 101). Packet
// i gets the 64-bit sequence number startSeq+i: its low half on the wire, its high half
// authenticated under sa.ESN (sa.SeqHi is ignored here). AES-CBC IVs are derived from the
// sequence number, so the output is deterministic (a test convenience, not how a sender
// should choose IVs); AES-GMAC's IV is the sequence number. Transport mode. Without scapy the
// test is skipped (see Require).
func EncryptSuitesScapy(t testing.TB, plainPcap, outPcap string, sa SuiteSA, startSeq uint64) {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	saPath := writeJSON(t, t.TempDir(), "sa.json", sa.toJSON())
	runScapy(t, "suites_scapy.py", "encrypt", saPath, strconv.FormatUint(startSeq, 10), plainPcap, outPcap)
}
