package host_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Issue 12 (point 1), R-RX-8: an inbound ESN SA whose high half is 1 or more verifies from
// its first packet. For each high half H (0, 1, 2^31, 2^32-2) scapy, the outside peer,
// encrypts one stream with the real 64-bit sequence numbers H:0xffffffe9 .. H+1:0x18 (the
// low half wraps at packet 23); the host offloads the inbound SA with its replay top T, as
// an xfrm state's replay-seq-hi/replay-seq, and the NIC and host receive
//
//	below        T = H:0xffffffe8, the whole stream, across the wrap
//	at           T = H:0xffffffff, from H+1:0
//	above        T = H+1:4, from H+1:5 (for H = 2^32-2 that is the last subspace)
//	lost-across  T = H:0xffffffe8, from H+1:5: the packets around the wrap never came
//	reordered    T = H:0xffffffe8, H+1:7 and H+1:8 first, then (after the host's UPDATE_SA)
//	             the packets from before the wrap, then the rest
//
// Every packet must be delivered, byte for byte scapy's plaintext, with the high half it
// was sent with; CRYPTO_SUCCESS counts every packet, nothing fails or is dropped, and the
// host tells the NIC the new high half (UPDATE_SA) once, when its top crosses the wrap.
func TestReceiveInteropESNHighHalves(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	const n, atWrap = 48, 23 // packets in scapy's stream; index of H+1:0
	all := seqIndexes(0, n)
	cases := []struct {
		name    string
		top     func(first uint64) uint64 // the host's replay top T
		order   []int                     // indexes into the stream, in arrival order
		phase   int                       // the first packets submitted and received on their own
		updates uint64                    // UPDATE_SA the host issues
	}{
		{"below", func(f uint64) uint64 { return f - 1 }, all, 0, 1},
		{"at", func(f uint64) uint64 { return f + atWrap - 1 }, seqIndexes(atWrap, n), 0, 1},
		{"above", func(f uint64) uint64 { return f + atWrap + 4 }, seqIndexes(atWrap+5, n), 0, 0},
		{"lost-across", func(f uint64) uint64 { return f - 1 }, seqIndexes(atWrap+5, n), 0, 1},
		{"reordered", func(f uint64) uint64 { return f - 1 },
			append(append([]int{atWrap + 7, atWrap + 8}, seqIndexes(0, atWrap+7)...), seqIndexes(atWrap+9, n)...), 2, 1},
	}
	for k, h := range []uint32{0, 1, 1 << 31, 1<<32 - 2} {
		t.Run(fmt.Sprintf("hi=%#x", h), func(t *testing.T) {
			first := uint64(h)<<32 | 0xffffffe9
			src, dst := "192.0.2.40", fmt.Sprintf("198.51.100.%d", 40+k)
			cfg := host.SAConfig{SPI: 0x4100 + uint32(k), Alg: esp.AESGCM, Key: key(16, 0x50+byte(k)),
				Salt: [4]byte{4, 1, 0, byte(k)}, ICVLen: 16, ESN: true, Src: mustAddr(src), Dst: mustAddr(dst)}
			dir := t.TempDir()
			var plain [][]byte
			for i := range n {
				plain = append(plain, udpPacket(src, dst, i, 30+i%8*151))
			}
			plainPcap, espPcap := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "esp.pcap")
			if err := interop.WritePcap(plainPcap, plain); err != nil {
				t.Fatal(err)
			}
			interop.EncryptScapy(t, plainPcap, espPcap, interopSA(cfg, first), first)
			frames, err := interop.ReadPcap(espPcap)
			if err != nil || len(frames) != n {
				t.Fatalf("%d frames from scapy, err %v", len(frames), err)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					l := newLoop(t, stage.Config{}, stage.DeletePolicy{})
					in := cfg
					in.StartSeq = c.top(first) + 1
					handle, err := l.receiver.AddSA(in, 0)
					if err != nil {
						t.Fatal(err)
					}
					got := 0
					receive := func(order []int) {
						t.Helper()
						var bufs []*packet.Buffer
						for _, i := range order {
							b := packet.NewBuffer(packet.SmallSize)
							b.SetData(frames[i])
							bufs = append(bufs, b)
						}
						l.recv.Submit(bufs)
						buf := make([]*packet.Buffer, 64)
						for done := 0; done < len(order); {
							for _, p := range buf[:l.recv.Poll(buf)] {
								i := order[done]
								seq := first + uint64(i)
								out, v := l.receiver.Receive(p, nil)
								if v != host.Delivered || p.Rx.SeqHi != uint32(seq>>32) {
									t.Errorf("packet %d (seq %#x): %v, OOB %v; want delivered with seqhi %d", i, seq, v, p.Rx, seq>>32)
								} else if !bytes.Equal(out, plain[i]) {
									t.Errorf("packet %d (seq %#x): delivered bytes differ from scapy's plaintext\n got %x\nwant %x", i, seq, out, plain[i])
								} else {
									got++
								}
								done++
							}
						}
					}
					receive(c.order[:c.phase])
					receive(c.order[c.phase:])
					st, _ := l.receiver.SAStats(handle)
					rs := l.recv.Stats()
					if got != len(c.order) || st.Packets != uint64(len(c.order)) || st.Updates != c.updates {
						t.Errorf("%d of %d delivered; SA stats %+v, want %d UPDATE_SA", got, len(c.order), st, c.updates)
					}
					if rs.Status[ndis.CryptoSuccess] != uint64(len(c.order)) || rs.Indicated != uint64(len(c.order)) || !rs.Balanced() {
						t.Errorf("receive stats %+v, want %d CRYPTO_SUCCESS and nothing else", rs, len(c.order))
					}
					if vs := l.receiver.Verdicts(); vs[host.Delivered] != uint64(len(c.order)) {
						t.Errorf("verdicts %v, want %d delivered and nothing else", vs, len(c.order))
					}
					t.Logf("T %#x: %d scapy packets from seq %#x delivered, %d CRYPTO_SUCCESS, %d UPDATE_SA",
						c.top(first), got, first+uint64(c.order[0]), rs.Status[ndis.CryptoSuccess], st.Updates)
				})
			}
		})
	}
}

// seqIndexes is from, from+1, ..., to-1.
func seqIndexes(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}
