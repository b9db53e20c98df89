package host_test

import (
	"bytes"
	"testing"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// ReceiveInPlace delivers what Receive delivers, byte for byte, with the same verdicts, in
// every mode (transport and tunnel, IPv4 and IPv6, GMAC, NAT-T, ESN): two loops with the
// same SAs see the same sealed packets, one host decapsulating into a slice, the other in
// the buffer.
func TestReceiveInPlace(t *testing.T) {
	for _, f := range rtFlows() {
		a := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
		b := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
		a.addFlow(t, f.cfg)
		b.addFlow(t, f.cfg)
		var pkts [][]byte
		for k := range 50 {
			pkts = append(pkts, udpPacket(f.src, f.dst, k, rtSize(k)+28))
		}
		sealed := a.seal(t, pkts)
		// The same packets once more, as replays: both hosts must refuse them the same way.
		frames := append(append([][]byte(nil), sealed...), sealed[:5]...)
		got := func(l *loop, inPlace bool) ([][]byte, []host.Verdict) {
			var bufs []*packet.Buffer
			for _, fr := range frames {
				x := packet.NewBuffer(packet.SmallSize)
				x.SetData(fr)
				bufs = append(bufs, x)
			}
			l.recv.Submit(bufs)
			var out [][]byte
			var vs []host.Verdict
			buf := make([]*packet.Buffer, 64)
			for len(vs) < len(frames) {
				for _, p := range buf[:l.recv.Poll(buf)] {
					if inPlace {
						v := l.receiver.ReceiveInPlace(p)
						vs = append(vs, v)
						if v == host.Delivered || v == host.Plain {
							out = append(out, bytes.Clone(p.Bytes()))
						}
						continue
					}
					o, v := l.receiver.Receive(p, nil)
					vs = append(vs, v)
					if v == host.Delivered || v == host.Plain {
						out = append(out, o)
					}
				}
			}
			return out, vs
		}
		want, wv := got(a, false)
		have, hv := got(b, true)
		if len(want) != 50 || len(have) != len(want) {
			t.Fatalf("SPI 0x%x: %d delivered into a slice, %d in place (verdicts %v / %v)", f.cfg.SPI, len(want), len(have), wv, hv)
		}
		for i := range want {
			if !bytes.Equal(want[i], have[i]) || !bytes.Equal(want[i], pkts[i]) {
				t.Fatalf("SPI 0x%x packet %d: in place %x\nslice %x\nsent %x", f.cfg.SPI, i, have[i], want[i], pkts[i])
			}
		}
		for i := range wv {
			if wv[i] != hv[i] {
				t.Fatalf("SPI 0x%x packet %d: verdict %v in place, %v into a slice", f.cfg.SPI, i, hv[i], wv[i])
			}
		}
		if a.receiver.Verdicts() != b.receiver.Verdicts() {
			t.Errorf("verdict counts %v / %v", a.receiver.Verdicts(), b.receiver.Verdicts())
		}
	}
}
