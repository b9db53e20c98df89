package interop

import (
	"strconv"
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

// VerifyBundleScapy checks every packet of the pcap at pcapPath as an ESP+AH packet of b:
// the AH ICV over scapy's zero_mutable_fields() image (scapy 2.5 signs and checks AH over
// ESP as if it were ESP, so bundle_scapy.py computes it), then the ESP part with AH taken
// out, through suites_scapy.py (scapy's SecurityAssociation). One Result per packet, with
// ESP's next header, pad length and the decapsulated bytes after the IP header. Each part's
// SeqHi is the high half of every packet. Without scapy the test is skipped (see Require).
func VerifyBundleScapy(t testing.TB, pcapPath string, b BundleSA) []Result {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	out := runScapy(t, "bundle_scapy.py", "verify", writeJSON(t, t.TempDir(), "bundle.json", bundleJSON{b.ESP.toJSON(), b.AH.toJSON()}), pcapPath)
	return scapyResults(t, "bundle_scapy.py", out)
}

// EncryptBundleScapy protects every plain IP packet of plainPcap with b, transport mode over
// the packet's own IP header: ESP with sequence number espStart+i (scapy), then AH over the
// result with ahStart+i (ICV computed by bundle_scapy.py), and writes outPcap (raw IP).
// Without scapy the test is skipped (see Require).
func EncryptBundleScapy(t testing.TB, plainPcap, outPcap string, b BundleSA, espStart, ahStart uint64) {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	p := writeJSON(t, t.TempDir(), "bundle.json", bundleJSON{b.ESP.toJSON(), b.AH.toJSON()})
	runScapy(t, "bundle_scapy.py", "encrypt", p, strconv.FormatUint(espStart, 10), strconv.FormatUint(ahStart, 10), plainPcap, outPcap)
}
