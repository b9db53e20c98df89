package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// The README's main command on built-in defaults: the round trip passes, crosses the ESN
// boundary with UPDATE_SA, and reports non-zero throughput.
func TestReplayBuiltInRoundTrip(t *testing.T) {
	code, out, errOut := runCmd("replay", "--packets", "3000", "--lanes", "2")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"send path: 3000 packets in, 3000 sealed, 0 failed",
		"receive path: 3000 indicated, 3000 verified (CRYPTO_SUCCESS), 0 not processed or failed",
		"host: 3000 sent, 3000 delivered and equal, 0 differ, 0 not delivered",
		"ESN: the stream crossed 2^32; 2 UPDATE_SA requests (send and receive side)",
		"DELETE_SA: 4 SAs deleted, keys zeroed",
		"round trip: OK (3000/3000 packets)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " 0.000 Mpps") {
		t.Errorf("zero throughput:\n%s", out)
	}
}

// Bad input: a clear message naming what and where, a non-zero exit, no panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	badConf := filepath.Join(dir, "nic.conf")
	if err := os.WriteFile(badConf, []byte("*IPsecOffloadV2 = 3\nSaOffloadCapacity = lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	espOff := filepath.Join(dir, "off.conf")
	if err := os.WriteFile(espOff, []byte("*IPsecOffloadV2 = 0\n*IPsecOffloadV2IPv4 = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay", "in.pcap"}, 2, "ov2 replay: reading in.pcap: pcap input is not available yet"},
		{[]string{"replay", "--packets", "0"}, 2, "ov2 replay: --packets 0: want at least 1"},
		{[]string{"replay", "--lanes", "0"}, 2, "ov2 replay: --lanes 0: want 1 to 256"},
		{[]string{"replay", "--packets", "x"}, 2, `invalid value "x" for flag -packets`},
		{[]string{"replay", "--config", filepath.Join(dir, "missing.conf")}, 1, "missing.conf: no such file or directory"},
		{[]string{"replay", "--config", badConf}, 1, `nic.conf:2: keyword "SaOffloadCapacity"`},
		{[]string{"replay", "--config", espOff}, 1, "does not allow ESP for IPv4"},
		{[]string{"bogus"}, 2, `ov2: unknown command "bogus"`},
		{nil, 2, "usage: ov2 <command>"},
		{[]string{"caps", "extra"}, 2, `ov2 caps: unexpected argument "extra"`},
	}
	for _, tc := range cases {
		code, _, errOut := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("ov2 %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// R-CAP-6 from the command line.
func TestCaps(t *testing.T) {
	code, out, errOut := runCmd("caps")
	if code != 0 || !strings.Contains(out, "OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:") ||
		!strings.Contains(out, "EncryptionAlgorithms=NONE|AES_GCM_128|AES_GCM_192|AES_GCM_256") ||
		!strings.Contains(out, "SaOffloadCapacity=1024") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("help: exit %d %q", code, out)
	}
}
