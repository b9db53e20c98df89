package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/replay"
)

// Bad input: a clear message naming what and where, a non-zero exit, no panic, and no
// output file left behind.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badConf := write("nic.conf", []byte("*IPsecOffloadV2 = 3\nSaOffloadCapacity = lots\n"))
	espOff := write("off.conf", []byte("*IPsecOffloadV2 = 0\n*IPsecOffloadV2IPv4 = 0\n"))
	sample := write("sample.pcap", replay.SampleCapture)
	text := write("notes.txt", []byte("these are not packets\n"))
	// Cut the sample in the middle of its 3rd record: 24-byte file header, then records.
	cut := 24
	for i := 0; i < 2; i++ {
		cut += 16 + int(binary.LittleEndian.Uint32(replay.SampleCapture[cut+8:]))
	}
	truncated := write("truncated.pcap", replay.SampleCapture[:cut+16+30])
	wifi := bytes.Clone(replay.SampleCapture)
	binary.LittleEndian.PutUint32(wifi[20:], 105) // LINKTYPE_IEEE802_11
	wifiPath := write("wifi.pcap", wifi)
	badSA := write("bad.sa", []byte("# two SAs\nsrc 192.0.2.1 dst 198.51.100.2 proto esp spi 0xZZ mode transport aead 'rfc4106(gcm(aes))' 0x11111111111111111111111111111111a1a2a3a4 128\n"))
	shortKey := write("short.sa", []byte("src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x10 mode transport\\\n  aead 'rfc4106(gcm(aes))' 0x1111111111111111a1a2a3a4 128\n"))
	des := write("des.sa", []byte("\n\nsrc 192.0.2.1 dst 198.51.100.2 proto esp spi 0x10 mode transport enc 'cbc(des3_ede)' 0x111111111111111111111111111111111111111111111111 auth 'hmac(sha1)' 0x1111111111111111111111111111111111111111\n"))
	noAuth := write("noauth.sa", []byte("src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x10 mode transport enc 'cbc(aes)' 0x11111111111111111111111111111111\n"))
	out := filepath.Join(dir, "out.pcap")

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay", filepath.Join(dir, "missing.pcap")}, 1, "missing.pcap"},
		{[]string{"replay", "--out", out, text}, 1, "notes.txt: not a pcap or pcapng file"},
		{[]string{"replay", "--out", out, truncated}, 1, "truncated.pcap: packet 3"},
		{[]string{"replay", "--out", out, wifiPath}, 1, "(105)"},
		{[]string{"replay", "--out", out, "--sa", badSA, sample}, 1, `bad.sa:2: field "spi"`},
		{[]string{"replay", "--out", out, "--sa", shortKey, sample}, 1, `short.sa:2: field "aead"`},
		{[]string{"replay", "--out", out, "--sa", des, sample}, 1, `des.sa:3: field "enc": cbc(des3_ede) (3DES) is never offloaded`},
		{[]string{"replay", "--out", out, "--sa", noAuth, sample}, 1, `noauth.sa:1: field "auth": missing: enc cbc(aes) needs auth or auth-trunc`},
		{[]string{"replay", "--sa", filepath.Join(dir, "nope.sa")}, 1, "nope.sa"},
		{[]string{"replay", "--pps", "0"}, 2, `ov2 replay: --pps "0": want a positive number`},
		{[]string{"replay", "--pps", "fast"}, 2, `ov2 replay: --pps "fast": want a positive number`},
		{[]string{"replay", "--pps", "1.5e12"}, 2, `ov2 replay: --pps "1.5e12": want at most 1e+12`},
		{[]string{"replay", "--mbps", "2e12"}, 2, `ov2 replay: --mbps "2e12": want at most 1e+12`},
		{[]string{"replay", "--multiplier", "Inf"}, 2, `ov2 replay: --multiplier "Inf": want at most 1e+12`},
		{[]string{"replay", "--pps", "NaN"}, 2, `ov2 replay: --pps "NaN": want a positive number`},
		{[]string{"replay", "--pps", "10", "--mbps", "5"}, 2, "ov2 replay: --pps, --mbps: choose one pacing"},
		{[]string{"replay", "--timing", "wall"}, 2, `ov2 replay: --timing "wall": the only timing is pcap`},
		{[]string{"replay", "--loop", "0"}, 2, "ov2 replay: --loop 0: want at least 1"},
		{[]string{"replay", "--mss", "0"}, 2, "ov2 replay: --mss 0: want 1 to "},
		{[]string{"replay", "--lanes", "0"}, 2, "ov2 replay: --lanes 0: want 1 to 256"},
		{[]string{"replay", "--placement", "spread"}, 2, `ov2 replay: --placement "spread": want fused or split`},
		{[]string{"replay", sample, sample}, 2, "ov2 replay: one input capture at most, got 2"},
		{[]string{"replay", "--lanes", "x"}, 2, `ov2 replay: --lanes "x": want a whole number` + "\nusage: ov2 replay [flags]"},
		{[]string{"replay", "-bogus"}, 2, "ov2 replay: unknown flag --bogus\nusage: ov2 replay [flags]"},
		{[]string{"replay", "--config", filepath.Join(dir, "missing.conf")}, 1, "missing.conf: no such file or directory"},
		{[]string{"replay", "--config", badConf}, 1, `nic.conf:2: keyword "SaOffloadCapacity"`},
		{[]string{"replay", "--iface", "ov2-no-such-if0"}, 1, `interface "ov2-no-such-if0"`},
		{[]string{"bogus"}, 2, `ov2: unknown command "bogus"`},
		{nil, 2, "usage: ov2 <command>"},
		{[]string{"caps", "extra"}, 2, `ov2 caps: unexpected argument "extra"`},
	}
	for _, tc := range cases {
		code, _, errOut := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("ov2 %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("ov2 %v left %s behind", tc.args, out)
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) != 0 {
			t.Fatalf("ov2 %v left temporary files %v", tc.args, tmp)
		}
	}
	// With ESP offload off, the NIC refuses the SAs: the error names the SA's line.
	code, _, errOut := runCmd("replay", "--config", espOff, "--loop", "1")
	if want := "ov2: demo.sa:7: SA 0x00001001 (outbound): host: ADD_SA for SPI 0x00001001: NDIS_STATUS_NOT_SUPPORTED"; code != 1 ||
		!strings.Contains(errOut, want) || !strings.Contains(errOut, "ESP is disabled for IPv4") {
		t.Errorf("ESP off: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}
