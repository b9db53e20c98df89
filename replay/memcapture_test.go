package replay

import (
	"context"
	"testing"

	"github.com/ov2dev/ov2/pcap"
)

// Later loops replay the capture from memory: the input is opened once for three loops, and
// every loop reads (and sends) every packet.
func TestLoopsReadInputOnce(t *testing.T) {
	in, cfg := demoConfig(t)
	opens := 0
	open := in.Open
	in.Open = func() (Reader, error) {
		opens++
		return open()
	}
	const loops = 3
	cfg.Loops = loops
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if opens != 1 {
		t.Errorf("input opened %d times for %d loops, want 1", opens, loops)
	}
	if rep.Read.Packets != loops*sampleTotal || rep.Encrypt.Out.Packets != loops*sampleSA {
		t.Errorf("read %d, encrypted %d; want %d and %d", rep.Read.Packets, rep.Encrypt.Out.Packets,
			loops*sampleTotal, loops*sampleSA)
	}
}

// A round trip reads the input once too: the comparison's originals and every loop, the
// first included, come from the same held capture; the round trip still checks every packet.
func TestRoundTripReadsInputOnce(t *testing.T) {
	in, cfg := demoConfig(t)
	opens := 0
	open := in.Open
	in.Open = func() (Reader, error) {
		opens++
		return open()
	}
	const loops = 2
	cfg.Loops, cfg.RoundTrip = loops, true
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if opens != 1 {
		t.Errorf("input opened %d times for a round trip of %d loops, want 1", opens, loops)
	}
	if rep.RoundTrip == nil || !rep.RoundTrip.OK || rep.RoundTrip.Equal != loops*sampleSA || rep.Read.Packets != loops*sampleTotal {
		t.Errorf("round trip %+v, read %d; want %d equal of %d read", rep.RoundTrip, rep.Read.Packets, loops*sampleSA, loops*sampleTotal)
	}
}

// A held capture that grew past its limit gives up, and the input is read again.
func TestHeldCaptureLimit(t *testing.T) {
	var h heldCapture
	h.bytes = maxHeld - 10
	h.keep(pcap.Record{Data: make([]byte, 11)})
	if !h.full || h.recs != nil {
		t.Fatalf("held %d records past the limit (full=%v)", len(h.recs), h.full)
	}
}
