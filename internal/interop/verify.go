package interop

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// VerifyPyca checks every packet of the pcap at pcapPath against sas with verify_pyca.py,
// which uses only Python's cryptography package, and returns one Result per packet in
// capture order. It finds each packet's SA by SPI and destination, infers the ESN high half
// from SA.SeqHi and the last packet it accepted on that SA (RFC 4303 Appendix A, window
// 1024), authenticates and decrypts, and checks the RFC 4303 padding (1, 2, 3, ...), the
// trailer's 4-byte alignment and, in tunnel mode, that the inner packet's own length equals
// the bytes carried. A packet whose IV is not its sequence number still verifies; Reason
// notes it and IVIsSeq is false. Packets that fail are in the results, not errors: only a
// script that cannot run fails the test. Without python3-cryptography the test is skipped
// (see Require).
func VerifyPyca(t testing.TB, pcapPath string, sas []SA) []Result {
	t.Helper()
	Require(t, ToolCryptography)
	return runVerifier(t, "verify_pyca.py", pcapPath, sas)
}

// VerifyScapy checks every packet of the pcap at pcapPath against sas with verify_scapy.py:
// scapy 2.5's scapy.layers.ipsec decrypts each packet (CryptAlgo for the verdict, pad length,
// next header and inner bytes; SecurityAssociation.decrypt for the decapsulation, whose
// result must hold the same inner bytes). ESN high halves are inferred as in VerifyPyca.
// scapy does not check the padding bytes (its 2.5 ESP trailer parser mis-slices them).
// Without scapy the test is skipped (see Require).
func VerifyScapy(t testing.TB, pcapPath string, sas []SA) []Result {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	return runVerifier(t, "verify_scapy.py", pcapPath, sas)
}

// tsharkICVName is the esp_sa UAT's name for AES-GCM with each ICV length.
var tsharkICVName = map[int]string{
	8:  "AES-GCM with 8 octet ICV [RFC4106]",
	12: "AES-GCM with 12 octet ICV [RFC4106]",
	16: "AES-GCM with 16 octet ICV [RFC4106]",
}

// tsharkRows returns the esp_sa UAT rows for one SA: one row in the family of its
// destination, with its addresses, or two wildcard rows (IPv4 and IPv6) when it has none.
// An esp_sa row for one family never matches a packet of the other.
func tsharkRows(sa SA) []string {
	key := "0x" + hex.EncodeToString(sa.Key) + hex.EncodeToString(sa.Salt)
	row := func(family, src, dst string) string {
		return fmt.Sprintf(`"%s","%s","%s","0x%08x","%s","%s","NULL",""`,
			family, src, dst, sa.SPI, tsharkICVName[sa.icvLen()], key)
	}
	if !sa.Dst.IsValid() {
		return []string{row("IPv4", "*", "*"), row("IPv6", "*", "*")}
	}
	family := "IPv6"
	if sa.Dst.Unmap().Is4() {
		family = "IPv4"
	}
	src := "*"
	if sa.Src.IsValid() {
		src = addrText(sa.Src)
	}
	return []string{row(family, src, addrText(sa.Dst))}
}

// tsharkArgs returns the tshark command line (without the program name) that VerifyTshark
// runs for pcapPath and sas: decryption and ICV checking on, sequence analysis off, the SAs
// as esp_sa UAT rows, extra NAT-T ports decoded as UDP-encapsulated ESP, and one line of
// tab-separated fields per frame.
func tsharkArgs(pcapPath string, sas []SA) []string {
	args := []string{"-n", "-r", pcapPath,
		"-o", "esp.enable_encryption_decode:TRUE",
		"-o", "esp.enable_authentication_check:TRUE",
		"-o", "esp.do_esp_sequence_analysis:FALSE"}
	ports := map[uint16]bool{DefaultNATTPort: true}
	for _, sa := range sas {
		for _, r := range tsharkRows(sa) {
			args = append(args, "-o", "uat:esp_sa:"+r)
		}
		if sa.NATT {
			for _, p := range []uint16{sa.sport(), sa.dport()} {
				if !ports[p] {
					ports[p] = true
					args = append(args, "-d", fmt.Sprintf("udp.port==%d,udpencap", p))
				}
			}
		}
	}
	args = append(args, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f")
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	return args
}

// tsharkKeep are the dissectors VerifyTshark leaves on: link layers, IP, UDP, ESP in UDP,
// ESP, and "data" for whatever they carry. tshark adds the ICV verdict to the tree only
// after the decrypted payload has been dissected, so an exception in any dissector below
// ESP (a DNS or heuristic dissector meeting test bytes) would lose the verdict.
var tsharkKeep = map[string]bool{
	"frame": true, "raw": true, "eth": true, "vlan": true, "ip": true, "ipv6": true,
	"ipv6.hopopts": true, "ipv6.routing": true, "ipv6.fraghdr": true, "ipv6.dstopts": true,
	"udp": true, "udpencap": true, "esp": true, "data": true,
}

var (
	tsharkProtosOnce sync.Once
	tsharkProtos     []byte // disabled_protos file contents
	tsharkProtosErr  error
)

// tsharkDisabledProtos returns a disabled_protos file that turns off every dissector tshark
// has except tsharkKeep, from `tshark -G protocols`, computed once per test binary.
func tsharkDisabledProtos() ([]byte, error) {
	tsharkProtosOnce.Do(func() {
		out, err := exec.Command("tshark", "-G", "protocols").Output()
		if err != nil {
			tsharkProtosErr = fmt.Errorf("tshark -G protocols: %w", err)
			return
		}
		var b strings.Builder
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(line, "\t")
			if len(f) < 3 || f[2] == "" || tsharkKeep[f[2]] || strings.HasPrefix(f[2], "_ws.") {
				continue
			}
			b.WriteString(f[2])
			b.WriteByte('\n')
		}
		tsharkProtos = []byte(b.String())
	})
	return tsharkProtos, tsharkProtosErr
}

// tsharkFields are the fields VerifyTshark reads, in output column order.
var tsharkFields = []string{"esp.spi", "esp.sequence", "esp.icv_good", "esp.icv_bad",
	"esp.pad_len", "esp.protocol", "esp.iv"}

// VerifyTshark checks the ICV of every packet of the pcap at pcapPath with tshark 4.0,
// given sas as esp_sa UAT rows on its command line (one row per SA, in the address family
// of its Dst; two wildcard rows, IPv4 and IPv6, when Dst is invalid), and returns one
// Result per frame: OK is esp.icv_good; SPI, Seq, IVIsSeq and, for a verified packet,
// PadLen and NextHeader come from tshark's fields; Inner is nil; frames without an ESP
// header are Skipped. Every dissector below ESP is turned off (see tsharkKeep). tshark 4.0
// can check neither ESN (it authenticates only the low 32 bits) nor AES-GMAC, so an SA with
// either is a misuse and fails the test rather than pass or fail packets wrongly. Without
// tshark the test is skipped (see Require).
func VerifyTshark(t testing.TB, pcapPath string, sas []SA) []Result {
	t.Helper()
	for _, sa := range sas {
		if sa.ESN || sa.GMAC {
			t.Fatalf("interop: VerifyTshark: SPI 0x%08x has ESN=%v GMAC=%v; tshark 4.0 checks neither, use VerifyPyca or VerifyScapy",
				sa.SPI, sa.ESN, sa.GMAC)
			return nil
		}
		if _, ok := tsharkICVName[sa.icvLen()]; !ok {
			t.Fatalf("interop: VerifyTshark: SPI 0x%08x: ICV length %d, want 8, 12 or 16", sa.SPI, sa.ICVLen)
			return nil
		}
	}
	Require(t, ToolTshark)
	disabled, err := tsharkDisabledProtos()
	if err != nil {
		t.Fatalf("interop: %v", err)
		return nil
	}
	// A private configuration directory: the user's own esp_sa table or preferences must
	// not add to or change what this check does, and it carries the disabled dissectors.
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "disabled_protos"), disabled, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
		return nil
	}
	args := tsharkArgs(pcapPath, sas)
	cmd := exec.Command("tshark", args...)
	cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+conf, "HOME="+conf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop: tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		return nil
	}
	results, err := parseTshark(string(out))
	if err != nil {
		t.Fatalf("interop: tshark output: %v", err)
	}
	return results
}

// parseTshark turns tshark's tab-separated field lines (tsharkFields) into Results.
func parseTshark(out string) ([]Result, error) {
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil, nil
	}
	lines := strings.Split(out, "\n")
	results := make([]Result, 0, len(lines))
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != len(tsharkFields) {
			return nil, fmt.Errorf("line %d %q: %d fields, want %d", i+1, line, len(f), len(tsharkFields))
		}
		r := Result{Index: i}
		if f[0] == "" {
			r.Skipped, r.Reason = true, "not ESP"
			results = append(results, r)
			continue
		}
		spi, err := strconv.ParseUint(f[0], 0, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: esp.spi %q: %v", i+1, f[0], err)
		}
		seq, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: esp.sequence %q: %v", i+1, f[1], err)
		}
		r.SPI, r.Seq = uint32(spi), seq
		good, bad := tsharkBool(f[2]), tsharkBool(f[3])
		switch {
		case good && !bad:
			r.OK = true
		case bad:
			r.Reason = "ICV mismatch (esp.icv_bad)"
		default:
			r.Reason = "no ICV verdict: no esp_sa row matched, or tshark could not decrypt"
		}
		if r.OK {
			pad, err1 := strconv.ParseUint(f[4], 0, 8)
			nh, err2 := strconv.ParseUint(f[5], 0, 8)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: esp.pad_len %q, esp.protocol %q", i+1, f[4], f[5])
			}
			r.PadLen, r.NextHeader = int(pad), int(nh)
		}
		iv, err := hex.DecodeString(strings.ReplaceAll(f[6], ":", ""))
		if err == nil && len(iv) == 8 {
			r.IVIsSeq = binary.BigEndian.Uint64(iv) == seq
			if !r.IVIsSeq {
				note := fmt.Sprintf("IV %x is not the sequence number %016x", iv, seq)
				r.Reason = strings.TrimPrefix(r.Reason+"; "+note, "; ")
			}
		}
		results = append(results, r)
	}
	return results, nil
}

// tsharkBool reads a boolean field as tshark prints it: "1"/"0" in 4.0, "True"/"False" in
// later versions.
func tsharkBool(s string) bool { return s == "1" || strings.EqualFold(s, "true") }

// EncryptScapy protects every plain IP packet of the pcap at plainPcap with sa using scapy's
// SecurityAssociation (encrypt_scapy.py) and writes the ESP packets to outPcap (raw IP,
// link type 101). Packet i gets the 64-bit sequence number startSeq+i: its low half on the
// wire, its high half authenticated when sa.ESN (sa.SeqHi is ignored here), and IV = that
// number big-endian, so the output is deterministic. Transport or tunnel (sa.Src and
// sa.Dst are then the outer header), AES-GCM with any ICV length or AES-GMAC, and NAT-T
// (UDP length fixed, checksum 0 on IPv4, computed on IPv6) are all supported. Without scapy
// the test is skipped (see Require).
func EncryptScapy(t testing.TB, plainPcap, outPcap string, sa SA, startSeq uint64) {
	t.Helper()
	Require(t, ToolCryptography, ToolScapy)
	js := sa.toJSON()
	saPath := writeJSON(t, t.TempDir(), "sa.json", js)
	runPython(t, "encrypt_scapy.py", saPath, strconv.FormatUint(startSeq, 10), plainPcap, outPcap)
}
