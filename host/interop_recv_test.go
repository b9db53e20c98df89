package host_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Issue acceptance (receive path): ESP packets made by an outside peer (scapy) decrypt
// through the NIC's receive path and the host: AES-GCM-128/256 and GMAC, transport and
// tunnel, IPv4 and IPv6, NAT-T, and an ESN stream that crosses 2^32, where the host issues
// UPDATE_SA as the high half advances. Every delivered packet equals scapy's plaintext.
func TestReceiveInterop(t *testing.T) {
	interop.Require(t, "python3-cryptography", "scapy")
	cases := []struct {
		name     string
		cfg      host.SAConfig
		src, dst string
		count    int
	}{
		{"ipv4-transport-gcm128", host.SAConfig{SPI: 0x4001, Alg: esp.AESGCM, Key: key(16, 0x41), Salt: [4]byte{4, 0, 0, 1},
			Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}, "192.0.2.1", "198.51.100.1", 30},
		{"ipv6-transport-gcm256", host.SAConfig{SPI: 0x4002, Alg: esp.AESGCM, Key: key(32, 0x42), Salt: [4]byte{4, 0, 0, 2},
			Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2")}, "2001:db8::1", "2001:db8::2", 30},
		{"ipv4-tunnel-gmac", host.SAConfig{SPI: 0x4003, Alg: esp.AESGMAC, Key: key(16, 0x43), Salt: [4]byte{4, 0, 0, 3},
			Mode: host.Tunnel, Src: mustAddr("203.0.113.1"), Dst: mustAddr("203.0.113.2")}, "10.1.0.1", "10.2.0.1", 30},
		{"ipv6-tunnel-gcm128-ipv4-inner", host.SAConfig{SPI: 0x4004, Alg: esp.AESGCM, Key: key(16, 0x44), Salt: [4]byte{4, 0, 0, 4},
			Mode: host.Tunnel, Src: mustAddr("2001:db8:1::1"), Dst: mustAddr("2001:db8:2::1")}, "10.3.0.1", "10.4.0.1", 30},
		{"ipv4-natt-transport-gcm128", host.SAConfig{SPI: 0x4005, Alg: esp.AESGCM, Key: key(16, 0x45), Salt: [4]byte{4, 0, 0, 5},
			NATT: true, Src: mustAddr("192.0.2.10"), Dst: mustAddr("198.51.100.10")}, "192.0.2.10", "198.51.100.10", 30},
		{"ipv4-transport-gcm128-esn-across-2^32", host.SAConfig{SPI: 0x4006, Alg: esp.AESGCM, Key: key(16, 0x46), Salt: [4]byte{4, 0, 0, 6},
			ESN: true, StartSeq: 1<<32 - 15, Src: mustAddr("192.0.2.20"), Dst: mustAddr("198.51.100.20")}, "192.0.2.20", "198.51.100.20", 40},
		{"ipv4-tunnel-gmac-esn-across-2^32", host.SAConfig{SPI: 0x4007, Alg: esp.AESGMAC, Key: key(32, 0x47), Salt: [4]byte{4, 0, 0, 7},
			ESN: true, StartSeq: 1<<32 - 7, Mode: host.Tunnel, Src: mustAddr("203.0.113.5"), Dst: mustAddr("203.0.113.6")}, "10.5.0.1", "10.6.0.1", 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var plain [][]byte
			for i := 0; i < tc.count; i++ {
				plain = append(plain, udpPacket(tc.src, tc.dst, i, 30+i*41))
			}
			plainPcap, espPcap := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "esp.pcap")
			if err := interop.WritePcap(plainPcap, plain); err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.ICVLen, cfg.SPort, cfg.DPort = 16, 4500, 4500
			interop.EncryptScapy(t, plainPcap, espPcap, interopSA(cfg, cfg.StartSeq), max(cfg.StartSeq, 1))
			frames, err := interop.ReadPcap(espPcap)
			if err != nil || len(frames) != tc.count {
				t.Fatalf("%d frames from scapy, err %v", len(frames), err)
			}
			l := newLoop(t, stage.Config{}, stage.DeletePolicy{})
			in, err := l.receiver.AddSA(tc.cfg, 0)
			if err != nil {
				t.Fatal(err)
			}
			var bufs []*packet.Buffer
			for _, f := range frames {
				b := packet.NewBuffer(packet.SmallSize)
				b.SetData(f)
				bufs = append(bufs, b)
			}
			l.recv.Submit(bufs)
			got := 0
			buf := make([]*packet.Buffer, 64)
			for got < tc.count {
				for _, p := range buf[:l.recv.Poll(buf)] {
					out, v := l.receiver.Receive(p, nil)
					if v != host.Delivered {
						t.Fatalf("packet %d: %v, OOB %v", got, v, p.Rx)
					}
					want := plain[got]
					if !bytes.Equal(out, want) {
						t.Fatalf("packet %d: delivered bytes differ from scapy's plaintext\n got %x\nwant %x", got, out, want)
					}
					got++
				}
			}
			st, _ := l.receiver.SAStats(in)
			wantUpdates := uint64(0)
			if tc.cfg.ESN {
				wantUpdates = 1
			}
			if st.Packets != uint64(tc.count) || st.Updates != wantUpdates {
				t.Errorf("SA stats %+v, want %d packets and %d UPDATE_SA", st, tc.count, wantUpdates)
			}
			if rs := l.recv.Stats(); rs.Status[0] != uint64(tc.count) || !rs.Balanced() {
				t.Errorf("receive stats %+v", rs)
			}
			t.Log(fmt.Sprintf("%d scapy packets delivered, %d UPDATE_SA", got, st.Updates))
		})
	}
}
