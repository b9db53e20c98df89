package interop

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DefaultNATTPort is the UDP port of ESP in UDP (RFC 3948 §2.1), used where an SA's SPort or
// DPort is 0.
const DefaultNATTPort = 4500

// SA describes one ESP security association to the verifiers and to EncryptScapy.
type SA struct {
	// SPI is the Security Parameters Index on the wire.
	SPI uint32
	// Key is the AES key only (16, 24 or 32 bytes), without the salt.
	Key []byte
	// Salt is the 4-byte nonce prefix of RFC 4106 §4 / RFC 4543 §3.
	Salt []byte
	// GMAC selects AES-GMAC (RFC 4543, payload in clear) instead of AES-GCM (RFC 4106).
	GMAC bool
	// ICVLen is the ICV length in bytes: 8, 12 or 16 for AES-GCM, 16 for AES-GMAC; 0 means 16.
	ICVLen int
	// ESN says the SA uses 64-bit extended sequence numbers (RFC 4303 §2.2.1).
	ESN bool
	// SeqHi is the high half of the sequence number at the start of the stream; the
	// verifiers infer later high halves from it (RFC 4303 Appendix A).
	SeqHi uint32
	// Tunnel selects tunnel mode: Src and Dst are then the tunnel endpoints, and the
	// verifiers require the inner packet to be a whole IPv4 or IPv6 packet.
	Tunnel bool
	// Src and Dst are the outer addresses: the tunnel endpoints or the transport hosts. A
	// verifier finds an SA by SPI and Dst; an invalid (zero) Dst matches any destination.
	Src, Dst netip.Addr
	// NATT says the ESP packets travel in UDP (RFC 3948).
	NATT bool
	// SPort and DPort are the UDP ports under NATT; 0 means DefaultNATTPort.
	SPort, DPort uint16
}

// Result is one verifier's verdict on one packet of a capture.
type Result struct {
	// Index is the packet's position in the capture, from 0.
	Index int
	// SPI is the packet's SPI (0 when it has no ESP header).
	SPI uint32
	// Seq is the packet's 64-bit sequence number: the wire's low half, with the high half
	// the verifier inferred when the SA has ESN.
	Seq uint64
	// OK says the packet verified: ICV good and, for VerifyPyca, padding, alignment and
	// inner length right. For VerifyTshark it is esp.icv_good.
	OK bool
	// Skipped marks a packet that is not ESP (another protocol, an IKE packet behind the
	// non-ESP marker, a NAT-keepalive); OK is false for it.
	Skipped bool
	// Reason says why OK is false, and also notes an IV that is not the sequence number.
	Reason string
	// NextHeader is the ESP trailer's next header (4 and 41 in tunnel mode).
	NextHeader int
	// PadLen is the ESP trailer's pad length.
	PadLen int
	// Inner is the decrypted payload without padding and trailer: the inner packet in
	// tunnel mode, the transport payload otherwise. VerifyTshark leaves it nil.
	Inner []byte
	// IVIsSeq says the 8-byte IV equals the 64-bit sequence number, big-endian, which is
	// what ov2 writes (SPEC R-TX-4).
	IVIsSeq bool
}

// saJSON is the SA as the scripts read it.
type saJSON struct {
	SPI    uint32 `json:"spi"`
	Key    string `json:"key"`
	Salt   string `json:"salt"`
	GMAC   bool   `json:"gmac"`
	ICV    int    `json:"icv"`
	ESN    bool   `json:"esn"`
	SeqHi  uint32 `json:"seq_hi"`
	Tunnel bool   `json:"tunnel"`
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	NATT   bool   `json:"natt"`
	SPort  uint16 `json:"sport"`
	DPort  uint16 `json:"dport"`
}

func (sa SA) icvLen() int {
	if sa.ICVLen == 0 {
		return 16
	}
	return sa.ICVLen
}

func (sa SA) sport() uint16 {
	if sa.SPort == 0 {
		return DefaultNATTPort
	}
	return sa.SPort
}

func (sa SA) dport() uint16 {
	if sa.DPort == 0 {
		return DefaultNATTPort
	}
	return sa.DPort
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

func (sa SA) toJSON() saJSON {
	return saJSON{
		SPI: sa.SPI, Key: hex.EncodeToString(sa.Key), Salt: hex.EncodeToString(sa.Salt),
		GMAC: sa.GMAC, ICV: sa.icvLen(), ESN: sa.ESN, SeqHi: sa.SeqHi, Tunnel: sa.Tunnel,
		Src: addrText(sa.Src), Dst: addrText(sa.Dst),
		NATT: sa.NATT, SPort: sa.sport(), DPort: sa.dport(),
	}
}

// resultJSON is one line of a verifier script's output.
type resultJSON struct {
	Index      int    `json:"index"`
	SPI        uint32 `json:"spi"`
	Seq        uint64 `json:"seq"`
	OK         bool   `json:"ok"`
	Skipped    bool   `json:"skipped"`
	Reason     string `json:"reason"`
	NextHeader int    `json:"next_header"`
	PadLen     int    `json:"pad_len"`
	Inner      string `json:"inner"`
	IVIsSeq    bool   `json:"iv_is_seq"`
}

// python is Debian's interpreter, the one with scapy and cryptography.
const python = "/usr/bin/python3"

//go:embed verify_pyca.py verify_scapy.py encrypt_scapy.py scapy_common.py
var scripts embed.FS

// writeScripts copies the embedded scripts into a fresh temporary directory and returns it.
func writeScripts(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := scripts.ReadDir(".")
	if err != nil {
		t.Fatalf("interop: embedded scripts: %v", err)
	}
	for _, e := range entries {
		b, err := scripts.ReadFile(e.Name())
		if err != nil {
			t.Fatalf("interop: embedded script %s: %v", e.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o755); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	return dir
}

// writeJSON writes v as JSON into dir/name and returns the path.
func writeJSON(t testing.TB, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
	}
	return p
}

// runPython runs one of the embedded scripts and returns its standard output; a non-zero
// exit is fatal, with the script's standard error in the message.
func runPython(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	dir := writeScripts(t)
	cmd := exec.Command(python, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONPATH="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop: %s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// runVerifier runs a verifier script over pcapPath with sas and parses its JSON lines.
func runVerifier(t testing.TB, script, pcapPath string, sas []SA) []Result {
	t.Helper()
	js := make([]saJSON, len(sas))
	for i, sa := range sas {
		js[i] = sa.toJSON()
	}
	saPath := writeJSON(t, t.TempDir(), "sas.json", js)
	out := runPython(t, script, saPath, pcapPath)
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
		results = append(results, Result{
			Index: r.Index, SPI: r.SPI, Seq: r.Seq, OK: r.OK, Skipped: r.Skipped,
			Reason: r.Reason, NextHeader: r.NextHeader, PadLen: r.PadLen, Inner: inner,
			IVIsSeq: r.IVIsSeq,
		})
	}
	return results
}
