package replay

import (
	"context"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/xfrm"
)

// longLived is what `ip -s xfrm state` prints for two states of a host that has been up a
// while (192.0.2.1's peer): each was used one way, so one of its counters is far ahead of
// the other. 0x1001 (ESN) has received up to 0x1_00002f3a and sent nothing; 0x2001 has
// received up to 0x2f3a and sent 0x10.
const longLived = `src 192.0.2.1 dst 198.51.100.2
	proto esp spi 0x00001001 reqid 1 mode transport
	replay-window 32 seq 0x00000000 flag af-unspec esn
	aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128
	anti-replay esn context:
	 seq-hi 0x1, seq 0x2f3a, oseq-hi 0x0, oseq 0x0
	 replay_window 32, bitmap-length 1
	 ffffffff 
	lifetime config:
	  limit: soft (INF)(bytes), hard (INF)(bytes)
	  limit: soft (INF)(packets), hard (INF)(packets)
	  expire add: soft 0(sec), hard 0(sec)
	  expire use: soft 0(sec), hard 0(sec)
	lifetime current:
	  123456789(bytes), 98765(packets)
	  add 2026-11-30 10:11:12 use 2026-12-07 21:00:01
	stats:
	  replay-window 0 replay 0 failed 0
	sel src 0.0.0.0/0 dst 0.0.0.0/0 uid 0
src 192.0.2.1 dst 198.51.100.3
	proto esp spi 0x00002001 reqid 2 mode transport
	replay-window 32 seq 0x00000000 flag af-unspec
	aead rfc4106(gcm(aes)) 0x2122232425262728292a2b2c2d2e2f3031323334 128
	anti-replay context: seq 0x2f3a, oseq 0x10, bitmap 0xffffffff
	lifetime current:
	  555(bytes), 7(packets)
	  add 2026-11-30 10:11:12 use 2026-12-07 21:00:01
	stats:
	  replay-window 0 replay 0 failed 0
	sel src 0.0.0.0/0 dst 0.0.0.0/0 uid 0
`

// A round trip with states listed from a long-lived host: the receive side of each state
// opens what its send side sealed, so it starts where the send side starts (after oseq),
// not after the seq the host had received. Before, every packet of 0x2001 was dropped as
// too old and every packet of 0x1001 failed its ICV (the high half inferred from seq-hi 1).
func TestRoundTripLongLivedListing(t *testing.T) {
	sas, err := xfrm.ParseConfig("long.sa", strings.NewReader(longLived))
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := Demo()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{SAs: sas.States, NIC: nic.DefaultConfig(), Lanes: 2, RoundTrip: true}
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const want = 2 * 55 // the sample's packets for 0x1001 and for 0x2001
	rt := rep.RoundTrip
	if rt == nil || !rt.OK || rt.Equal != want || rt.Differ != 0 || len(rep.Drops) != 0 ||
		rep.Encrypt.In.Packets != want || rep.Decrypt.Out.Packets != want || !rep.Balanced {
		t.Fatalf("round trip %+v, encrypt %+v, decrypt %+v, drops %v, balanced %v; want %d packets each way, equal, no drops",
			rt, rep.Encrypt, rep.Decrypt, rep.Drops, rep.Balanced, want)
	}
	// The caller's states keep the listing's counters.
	if s := sas.States[0]; s.Seq != 1<<32|0x2f3a || s.OSeq != 0 {
		t.Errorf("state 0x1001: seq %#x, oseq %#x after the run; want 0x100002f3a, 0", s.Seq, s.OSeq)
	}
	if s := sas.States[1]; s.Seq != 0x2f3a || s.OSeq != 0x10 {
		t.Errorf("state 0x2001: seq %#x, oseq %#x after the run; want 0x2f3a, 0x10", s.Seq, s.OSeq)
	}
}
