package interop

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tsharkEnc and tsharkAuth are the esp_sa UAT's names for the suites beyond AES-GCM (the
// strings xfrm.WriteWiresharkKeys writes too).
var (
	tsharkEnc  = map[string]string{"aes-cbc": "AES-CBC [RFC3602]", "null": "NULL"}
	tsharkAuth = map[string]string{"hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]", "hmac-sha256-128": "HMAC-SHA-256-128 [RFC4868]"}
)

// VerifyTsharkSuites is VerifyTshark for ESP SAs with AES-CBC or NULL encryption and an HMAC
// (SuiteSA with Proto "esp"): tshark 4.0 decrypts AES-CBC and checks the HMAC ICV, given the
// SAs as esp_sa rows (with the SA's Dst, or wildcard rows in both families when Dst is
// invalid). One Result per frame, as VerifyTshark returns them. tshark 4.0 has no ESN, so an
// ESN SA is refused.
func VerifyTsharkSuites(t testing.TB, pcapPath string, sas []SuiteSA) []Result {
	t.Helper()
	args := []string{"-n", "-r", pcapPath,
		"-o", "esp.enable_encryption_decode:TRUE",
		"-o", "esp.enable_authentication_check:TRUE",
		"-o", "esp.do_esp_sequence_analysis:FALSE"}
	for _, sa := range sas {
		enc, auth := tsharkEnc[sa.Enc], tsharkAuth[sa.Auth]
		if sa.Proto != "esp" || enc == "" || auth == "" || sa.ESN {
			t.Fatalf("interop: VerifyTsharkSuites: SPI 0x%08x: %s %s %s ESN=%v: tshark 4.0 checks ESP AES-CBC/NULL with HMAC-SHA-1-96/HMAC-SHA-256-128 without ESN only",
				sa.SPI, sa.Proto, sa.Enc, sa.Auth, sa.ESN)
			return nil
		}
		encKey := ""
		if len(sa.EncKey) > 0 {
			encKey = "0x" + hex.EncodeToString(sa.EncKey)
		}
		row := func(family, dst string) string {
			return fmt.Sprintf(`"%s","*","%s","0x%08x","%s","%s","%s","0x%s"`, family, dst, sa.SPI, enc, encKey, auth, hex.EncodeToString(sa.AuthKey))
		}
		rows := []string{row("IPv4", "*"), row("IPv6", "*")}
		if sa.Dst.IsValid() {
			family := "IPv6"
			if sa.Dst.Unmap().Is4() {
				family = "IPv4"
			}
			rows = []string{row(family, addrText(sa.Dst))}
		}
		for _, r := range rows {
			args = append(args, "-o", "uat:esp_sa:"+r)
		}
	}
	args = append(args, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f")
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	Require(t, ToolTshark)
	disabled, err := tsharkDisabledProtos()
	if err != nil {
		t.Fatalf("interop: %v", err)
		return nil
	}
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "disabled_protos"), disabled, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
		return nil
	}
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
