package replay

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/xfrm"
)

// Issue 12 (point 1), R-RX-8: an inbound ESN SA given as an xfrm state that has carried
// more than 2^32 packets (replay-seq-hi 4 replay-seq 0xffffffe8), and one whose last packet
// was the last before a wrap in the last-but-one subspace, decrypt from their first packet
// what scapy sends next: every packet CRYPTO_SUCCESS, none dropped, each equal to scapy's
// plaintext, and one UPDATE_SA when the stream crosses the wrap.
func TestInteropPeerEncryptsOvDecryptsESNHighHalf(t *testing.T) {
	interop.Require(t, interop.ToolScapy, interop.ToolCryptography)
	dir := t.TempDir()
	const n = 120
	cases := []struct {
		name, seq string // the state's replay fields
		first     uint64 // the first number scapy sends: the state's Seq+1
	}{
		{"replay-seq-hi 4, 23 packets before the wrap", "replay-seq-hi 4 replay-seq 0xffffffe8", 0x4_ffffffe9},
		{"replay-seq-hi 2^32-2, at the wrap", "replay-seq-hi 0xfffffffe replay-seq 0xffffffff", 0xffffffff_00000000},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := "src 192.0.2.1 dst 198.51.100.12 proto esp spi 0x6011 mode transport aead 'rfc4106(gcm(aes))' " +
				"0x0102030405060708090a0b0c0d0e0f10cafebabe 128 flag esn " + c.seq + " dir in"
			sas, err := xfrm.Parse("case.sa", strings.NewReader(line))
			if err != nil {
				t.Fatal(err)
			}
			if sas[0].Seq+1 != c.first {
				t.Fatalf("state's replay-seq %#x, want %#x", sas[0].Seq, c.first-1)
			}
			plain := plainPackets(t, "192.0.2.1", "198.51.100.12", n)
			plainPath := filepath.Join(dir, fmt.Sprintf("plain%d.pcap", i))
			espPath := filepath.Join(dir, fmt.Sprintf("esp%d.pcap", i))
			if err := interop.WritePcap(plainPath, plain); err != nil {
				t.Fatal(err)
			}
			interop.EncryptScapy(t, plainPath, espPath, interopSA(&sas[0], c.first), c.first)
			rec := &recorder{}
			rep, err := Run(context.Background(), FileInput(espPath),
				Config{SAs: sas, NIC: nic.DefaultConfig(), Lanes: 2, Output: rec})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Decrypt.Out.Packets != n || len(rep.Drops) != 0 || !rep.Balanced ||
				rep.CryptoStatus["CRYPTO_SUCCESS"] != n || len(rep.CryptoStatus) != 1 {
				t.Fatalf("decrypted %d of %d; drops %v; CryptoStatus %v", rep.Decrypt.Out.Packets, n, rep.Drops, rep.CryptoStatus)
			}
			if len(rec.frames) != n {
				t.Fatalf("%d frames out, want %d", len(rec.frames), n)
			}
			for k := range plain { // one SA: one lane, so the order is the capture's
				if !bytes.Equal(rec.frames[k], plain[k]) {
					t.Fatalf("packet %d (seq %#x) differs from scapy's plaintext:\n got % x\nwant % x", k, c.first+uint64(k), rec.frames[k], plain[k])
				}
			}
			if rep.Updates != 1 {
				t.Errorf("%d UPDATE_SA, want 1", rep.Updates)
			}
			t.Logf("%s: %d scapy packets from seq %#x: %d decrypted, CryptoStatus %v, drops %v, %d UPDATE_SA",
				c.seq, n, c.first, rep.Decrypt.Out.Packets, rep.CryptoStatus, rep.Drops, rep.Updates)
		})
	}
}
