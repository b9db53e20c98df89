package host_test

import (
	"bytes"
	"testing"

	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// LSO + IPsec for the new suites (R-TX-6, R-TX-7): the host frames one large TCP send as
// IP | AH | [ESP | IV room] | TCP | data, with no trailer, one sequence number per segment
// in each part; every segment the NIC cuts verifies at the peer and is delivered by the host,
// and together they carry the large send's payload in order.
func TestSuitesLSO(t *testing.T) {
	const n, mss = 9000, 1400
	for _, name := range []string{"cbc128-sha1", "null-sha256", "ah-sha1", "ah-gmac128", "cbc128-sha256+ah-sha1"} {
		for _, v6 := range []bool{false, true} {
			c := suiteCfg(name, 0x5600, v6, false)
			l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
			_, in := l.addFlow(t, c)
			pkt := tcpLarge(c.Src.String(), c.Dst.String(), n)
			if err := l.sender.SendLarge(pkt, mss); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			l.sender.Flush()
			segs := (n + mss - 1) / mss
			var out [][]byte
			buf := make([]*packet.Buffer, 64)
			for len(out) < segs {
				for _, p := range buf[:l.send.Poll(buf)] {
					if p.Tx.Failed() {
						t.Fatalf("%s: segment failed: %v", name, p.Tx.Reason)
					}
					out = append(out, bytes.Clone(p.Bytes()))
					l.sender.Done(p)
				}
			}
			pr := peerOf(t, c)
			var data []byte
			for i, f := range out {
				checkLayout(t, c, f, i)
				payload, nh := pr.open(t, f, 0, 0)
				if nh != 6 {
					t.Fatalf("%s: segment %d next header %d", name, i, nh)
				}
				data = append(data, payload[20:]...)
			}
			if h := parseIP(t, pkt); !bytes.Equal(data, pkt[h.hdr+20:]) {
				t.Fatalf("%s v6=%v: segments carry %d bytes, not the large send's %d", name, v6, len(data), n)
			}
			_, vs := l.indicate(t, out)
			for i, v := range vs {
				if v.String() != "delivered" {
					t.Fatalf("%s: segment %d: %v", name, i, v)
				}
			}
			if st, _ := l.receiver.SAStats(in); st.Packets != uint64(segs) {
				t.Fatalf("%s: %d delivered, want %d", name, st.Packets, segs)
			}
			if got := l.sender.NextSeq(c.SPI); got != uint64(segs+1) {
				t.Fatalf("%s: next sequence %d, want %d", name, got, segs+1)
			}
		}
	}
}
