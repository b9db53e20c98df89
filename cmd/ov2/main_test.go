package main

import (
	"bytes"
	"fmt"
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
	// The default is 400 passes over the 500-packet sample: the ESN SA crosses 2^32 after
	// 10,000 of its packets (55 per pass), so both sides issue one UPDATE_SA. Under the race
	// detector, 30 passes, which do not reach 2^32.
	args, loops, updates := []string{"replay", "--lanes", "2"}, 400, 2
	if raceEnabled {
		args, loops, updates = append(args, "--loop", "30"), 30, 0
	}
	code, out, errOut := runCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	enc := 436 * loops
	for _, want := range []string{
		fmt.Sprintf("ov2 replay: built-in sample capture, %d loop(s), 2 lane(s) each way (fused), pacing: top speed", loops),
		"SAs: 8 outbound, 8 inbound",
		fmt.Sprintf("read:         %10d packets", 500*loops),
		fmt.Sprintf("encrypt:  in  %10d packets", enc),
		fmt.Sprintf("out %10d packets", enc),
		fmt.Sprintf("decrypt:  in  %10d packets", enc),
		fmt.Sprintf("clear (no SA, through the NIC unchanged): %d packets", 54*loops),
		fmt.Sprintf("passed through (not through the NIC): %d packets (not IP %d)", 10*loops, 10*loops),
		fmt.Sprintf("CryptoStatus: (CRYPTO_SUCCESS %d)", enc),
		"drops: 0\n",
		fmt.Sprintf("UPDATE_SA (ESN high half): %d\n", updates),
		"accounting: balanced",
		fmt.Sprintf("round trip: OK (%d/%d packets decrypted and equal to the input, 0 differ)", enc, enc),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "out 0.000 Mpps") {
		t.Errorf("zero throughput:\n%s", out)
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
	// The suites: every one by default; a config that switches AH and the null and CBC
	// ciphers off leaves AES-GCM only (GMAC is the NONE cipher with a GMAC integrity).
	for _, want := range []string{"suites offloaded (current configuration):\n  ESP AES-GCM-128\n",
		"  ESP AES-CBC-256 + HMAC-SHA-256-128\n", "  ESP NULL + HMAC-SHA1-96\n", "  AH HMAC-SHA1-96\n", "  ESP+AH\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("caps lacks %q:\n%s", want, out)
		}
	}
	conf := filepath.Join(t.TempDir(), "noah.conf")
	if err := os.WriteFile(conf, []byte("Ah = 0\nAhEspCombined = 0\nEncryptionAlgorithms = AES_GCM_128|AES_GCM_256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd("caps", "--config", conf); code != 0 ||
		!strings.HasSuffix(out, "suites offloaded (current configuration):\n  ESP AES-GCM-128\n  ESP AES-GCM-256\n") {
		t.Errorf("caps --config %s: exit %d\n%s%s", conf, code, out, errOut)
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("help: exit %d %q", code, out)
	}
}
