package xfrm

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/interop"
)

// wsStates are one SA of each new ESP suite (no ESN: tshark 4.0 cannot check ESN SAs, see
// WriteWiresharkKeys), IPv4 and IPv6, transport and tunnel, and an AH SA, which gets no row.
const wsStates = `
src 192.0.2.1 dst 198.51.100.13 proto esp spi 0x1301 mode transport enc aes 0x` + "000102030405060708090a0b0c0d0e0f" + ` auth sha1 0x` + "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3" + `
src 192.0.2.1 dst 203.0.113.14 proto esp spi 0x1401 mode tunnel enc aes 0x` + "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" + ` auth-trunc sha256 0x` + "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf" + ` 128
src 192.0.2.1 dst 198.51.100.16 proto esp spi 0x1601 mode transport enc 'ecb(cipher_null)' "" auth sha1 0x` + "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3" + `
src 2001:db8::1 dst 2001:db8:1::2 proto esp spi 0x1501 mode transport enc 'ecb(cipher_null)' "" auth-trunc sha256 0x` + "5051525354555657585960616263646566676869707172737475767778798081" + ` 128
src 2001:db8::1 dst 2001:db8:1::3 proto esp spi 0x1801 mode transport enc aes 0x` + "303132333435363738393a3b3c3d3e3f4041424344454647" + ` auth-trunc sha256 0x` + "8081828384858687888990919293949596979899a0a1a2a3a4a5a6a7a8a9aaab" + ` 128
src 192.0.2.1 dst 198.51.100.17 proto ah spi 0x1701 mode transport auth sha1 0x` + "7071727374757677787980818283848586878889" + `
`

func TestWriteWiresharkKeysSuites(t *testing.T) {
	c, err := ParseConfig("ws.sa", strings.NewReader(wsStates))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteWiresharkKeys(&b, c.States); err != nil {
		t.Fatal(err)
	}
	want := `"IPv4","192.0.2.1","198.51.100.13","0x00001301","AES-CBC [RFC3602]","0x000102030405060708090a0b0c0d0e0f","HMAC-SHA-1-96 [RFC2404]","0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
"IPv4","192.0.2.1","203.0.113.14","0x00001401","AES-CBC [RFC3602]","0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f","HMAC-SHA-256-128 [RFC4868]","0xc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
"IPv4","192.0.2.1","198.51.100.16","0x00001601","NULL","","HMAC-SHA-1-96 [RFC2404]","0xe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3"
"IPv6","2001:0db8:0000:0000:0000:0000:0000:0001","2001:0db8:0001:0000:0000:0000:0000:0002","0x00001501","NULL","","HMAC-SHA-256-128 [RFC4868]","0x5051525354555657585960616263646566676869707172737475767778798081"
"IPv6","2001:0db8:0000:0000:0000:0000:0000:0001","2001:0db8:0001:0000:0000:0000:0000:0003","0x00001801","AES-CBC [RFC3602]","0x303132333435363738393a3b3c3d3e3f4041424344454647","HMAC-SHA-256-128 [RFC4868]","0x8081828384858687888990919293949596979899a0a1a2a3a4a5a6a7a8a9aaab"
`
	if b.String() != want {
		t.Errorf("esp_sa =\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWiresharkKeysTshark gives tshark the rows WriteWiresharkKeys writes and a capture of ESP
// packets this test seals itself with the standard library (AES-CBC, HMAC-SHA-1/SHA-256 over
// SPI ‖ sequence number ‖ IV ‖ ciphertext, RFC 4303 §3.3.2): tshark must accept every row,
// find every ICV good, and decrypt each packet to the UDP port it carries; a packet with a
// flipped ICV bit must show a bad ICV, so the check is not vacuous.
func TestWiresharkKeysTshark(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	c, err := ParseConfig("ws.sa", strings.NewReader(wsStates))
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	wantPort := map[string]string{}
	for i := range c.States {
		s := &c.States[i]
		if s.Proto == AH {
			continue
		}
		port := uint16(1000 + i)
		pkts = append(pkts, sealESP(t, s, uint32(i+1), port, false))
		wantPort[fmt.Sprintf("0x%08x", s.SPI)] = strconv.Itoa(int(port))
	}
	pkts = append(pkts, sealESP(t, &c.States[0], 99, 999, true)) // tampered

	dir := t.TempDir()
	capFile := filepath.Join(dir, "esp.pcap")
	if err := interop.WritePcap(capFile, pkts); err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	if err := WriteWiresharkKeys(&rows, c.States); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-r", capFile, "-o", "esp.enable_encryption_decode:TRUE",
		"-o", "esp.enable_authentication_check:TRUE", "-o", "esp.do_esp_sequence_analysis:FALSE"}
	for sc := bufio.NewScanner(strings.NewReader(rows.String())); sc.Scan(); {
		args = append(args, "-o", "uat:esp_sa:"+sc.Text())
	}
	args = append(args, "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "esp.icv_bad", "-e", "udp.dstport")
	cmd := exec.Command("tshark", args...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir) // no user preferences
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	t.Logf("tshark: SPI, ICV good, ICV bad, UDP port:\n%s", out)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "0x") {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(pkts) {
		t.Fatalf("tshark printed %d packets, want %d:\n%s", len(lines), len(pkts), out)
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Errorf("packet %d: %q", i+1, l)
			continue
		}
		good, bad := tsharkBool(f[1]), tsharkBool(f[2])
		if i == len(lines)-1 {
			if good || !bad {
				t.Errorf("tampered packet: icv_good %q icv_bad %q, want a bad ICV", f[1], f[2])
			}
			continue
		}
		if !good || bad || f[3] != wantPort[f[0]] {
			t.Errorf("packet %d (SPI %s): icv_good %q icv_bad %q udp.dstport %q; want good, port %s", i+1, f[0], f[1], f[2], f[3], wantPort[f[0]])
		}
	}
}

func tsharkBool(s string) bool { return s == "1" || strings.EqualFold(s, "true") }

// sealESP builds an IP packet carrying a UDP datagram to port through state s's ESP (in
// tunnel mode, inside an inner IPv4 packet), with sequence number seq; tamper flips an ICV
// bit.
func sealESP(t *testing.T, s *State, seq uint32, port uint16, tamper bool) []byte {
	t.Helper()
	udp := make([]byte, 8+32)
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], port)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	for i := 8; i < len(udp); i++ {
		udp[i] = byte(i)
	}
	payload, nh := udp, byte(17)
	if s.Mode == host.Tunnel {
		payload, nh = ipPacket(addr("10.1.0.5"), addr("10.14.0.9"), 17, udp), 4
	}
	block, iv := 4, []byte(nil)
	if s.Enc == EncAESCBC {
		block, iv = aes.BlockSize, []byte("ov2 test IV 1234")
	}
	plain := append([]byte(nil), payload...)
	padLen := (block - (len(plain)+2)%block) % block
	for i := 1; i <= padLen; i++ {
		plain = append(plain, byte(i))
	}
	plain = append(plain, byte(padLen), nh)
	body := plain
	if s.Enc == EncAESCBC {
		blk, err := aes.NewCipher(s.EncKey)
		if err != nil {
			t.Fatal(err)
		}
		body = make([]byte, len(plain))
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(body, plain)
	}
	esp := binary.BigEndian.AppendUint32(nil, s.SPI)
	esp = binary.BigEndian.AppendUint32(esp, seq)
	esp = append(append(esp, iv...), body...)
	h := func() hash.Hash { return sha1.New() }
	if s.Auth == AuthSHA256 {
		h = sha256.New
	}
	mac := hmac.New(h, s.AuthKey)
	mac.Write(esp)
	icv := mac.Sum(nil)[:s.AuthTrunc/8]
	if tamper {
		icv[0] ^= 1
	}
	return ipPacket(s.Src, s.Dst, 50, append(esp, icv...))
}

// ipPacket wraps payload in an IPv4 or IPv6 header.
func ipPacket(src, dst netip.Addr, proto byte, payload []byte) []byte {
	if src.Is4() {
		h := make([]byte, 20)
		h[0], h[8], h[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		s4, d4 := src.As4(), dst.As4()
		copy(h[12:], s4[:])
		copy(h[16:], d4[:])
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(h[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
		return append(h, payload...)
	}
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	s16, d16 := src.As16(), dst.As16()
	copy(h[8:], s16[:])
	copy(h[24:], d16[:])
	return append(h, payload...)
}
