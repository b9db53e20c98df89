package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/replay"
)

// --wireshark-keys writes esp_sa rows that tshark uses as they are: with them it decrypts
// and verifies every packet of the AES-GCM SAs without ESN and of the AES-CBC + HMAC SAs
// that ov2 encrypted, the ESP part of the ESP+AH bundle included (tshark 4.0 checks neither
// ESN nor GMAC: the ESN SA's packets show a bad ICV, as its README says, and the GMAC row
// is "no checking"; AH gets no row).
func TestReplayWiresharkKeys(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	dir := t.TempDir()
	in, out, keys := filepath.Join(dir, "sample.pcap"), filepath.Join(dir, "esp.pcap"), filepath.Join(dir, "esp_sa")
	if err := os.WriteFile(in, replay.SampleCapture, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCmd("replay", "--loop", "1", "--out", out, "--wireshark-keys", keys, in); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	f, err := os.Open(keys)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := []string{"-n", "-r", out, "--disable-protocol", "find",
		"-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
		"-o", "esp.do_esp_sequence_analysis:FALSE"}
	rows := 0
	for sc := bufio.NewScanner(f); sc.Scan(); rows++ {
		args = append(args, "-o", "uat:esp_sa:"+sc.Text())
	}
	if rows != 7 {
		t.Fatalf("%d rows in %s, want 7 (one per demo ESP SA)", rows, keys)
	}
	args = append(args, "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "esp.icv_bad")
	cmd := exec.Command("tshark", args...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir) // no user preferences
	outB, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	good, bad := map[string]int{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(outB)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" {
			continue
		}
		if tsharkTrue(f[1]) {
			good[f[0]]++
		}
		if tsharkTrue(f[2]) {
			bad[f[0]]++
		}
	}
	want := map[string]int{"0x00003001": 55, "0x00004001": 55, "0x00005001": 54, "0x00006001": 54, "0x00008001": 54}
	for spi, n := range want {
		if good[spi] != n {
			t.Errorf("SPI %s: %d packets with a good ICV, want %d", spi, good[spi], n)
		}
	}
	if len(good) != len(want) || len(bad) != 1 || bad["0x00001001"] != 55 {
		t.Errorf("good %v, bad %v: want only the ESN SA 0x00001001 (55 packets) bad", good, bad)
	}
}

func tsharkTrue(s string) bool { return s == "1" || strings.EqualFold(s, "true") }
