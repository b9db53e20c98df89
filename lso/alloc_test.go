package lso

import (
	"strings"
	"testing"
)

// TestZeroAllocs: Prepare and Segment allocate nothing on success (DESIGN: a stage never
// allocates per packet), for the largest layouts: 64 KB sends in tunnel mode over IPv6 with
// NAT-T and in IPv6-in-IPv4.
func TestZeroAllocs(t *testing.T) {
	for _, c := range layoutCases {
		frame := largeSend(t, c.l, testPayload(bigPayload), 7, 1)
		p := Params{MSS: bigMSS, PadLength: 7, NextHeader: c.l.nextHeader(), ICVLen: c.l.icvLen, ESN: true}
		dst := make([]byte, 2048)
		var sink uint64
		allocs := testing.AllocsPerRun(20, func() {
			pl, err := Prepare(frame, p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range pl.Count() {
				n, seq := pl.Segment(frame, i, dst)
				sink += uint64(n) + seq
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Prepare + %d Segments, want 0", c.l.name, allocs, bigCount)
		}
		_ = sink
	}
}

// TestSegmentMisusePanics: Segment's preconditions are the caller's; breaking one is a
// programming error and panics with a message rather than writing a wrong packet.
func TestSegmentMisusePanics(t *testing.T) {
	frame := largeSend(t, v4Transport, testPayload(3000), 0, 1)
	pl, err := Prepare(frame, Params{MSS: 1400, NextHeader: 6, ICVLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func()
		want string
	}{
		{"index -1", func() { pl.Segment(frame, -1, make([]byte, 2048)) }, "segment index out of range"},
		{"index Count", func() { pl.Segment(frame, pl.Count(), make([]byte, 2048)) }, "segment index out of range"},
		{"small dst", func() { pl.Segment(frame, 0, make([]byte, pl.MaxSegmentLen()-1)) }, "cap(dst) < MaxSegmentLen"},
		{"other frame", func() { pl.Segment(frame[:100], 0, make([]byte, 2048)) }, "frame is not the one Prepare parsed"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.want) {
					t.Errorf("%s: recovered %v, want a panic saying %q", c.name, r, c.want)
				}
			}()
			c.run()
		}()
	}
}
