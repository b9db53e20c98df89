package lso

import (
	"encoding/binary"
	"errors"
	"testing"
)

// TestSeqCrossesHighHalf covers R-TX-7: with ESN, a 47-segment send from S = 2^32-3 numbers its
// segments 2^32-3, 2^32-2, 2^32-1, then 1<<32|0, 1<<32|1, ... (the carry goes into the high
// half), and each ESP header carries only the low 32 bits.
func TestSeqCrossesHighHalf(t *testing.T) {
	l := layout{name: "IPv4 transport", icvLen: 16}
	frame := largeSend(t, l, testPayload(bigPayload), 0, 0xfffffffd)
	pl, err := Prepare(frame, Params{MSS: bigMSS, NextHeader: 6, ICVLen: 16, ESN: true})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Count() != 47 || pl.Seq() != 0xfffffffd || pl.LastSeq() != 0x1_0000002b {
		t.Fatalf("count %d, S %#x, last %#x; want 47, 0xfffffffd, 0x10000002b", pl.Count(), pl.Seq(), pl.LastSeq())
	}
	want := map[int]uint64{0: 0xfffffffd, 1: 0xfffffffe, 2: 0xffffffff, 3: 1 << 32, 4: 1<<32 | 1, 46: 1<<32 | 43}
	dst := make([]byte, pl.MaxSegmentLen())
	for i := range pl.Count() {
		_, seq := pl.Segment(frame, i, dst)
		if seq != 0xfffffffd+uint64(i) {
			t.Fatalf("segment %d: seq %#x, want %#x", i, seq, 0xfffffffd+uint64(i))
		}
		if w, ok := want[i]; ok && seq != w {
			t.Fatalf("segment %d: seq %#x, want %#x", i, seq, w)
		}
		if lo := binary.BigEndian.Uint32(dst[pl.ESPOffset()+4:]); lo != uint32(seq) {
			t.Fatalf("segment %d: ESP header seq %#x, want %#x", i, lo, uint32(seq))
		}
	}
	_, seq := pl.Segment(frame, 3, dst)
	if lo := binary.BigEndian.Uint32(dst[pl.ESPOffset()+4:]); seq != 1<<32 || lo != 0 {
		t.Fatalf("segment 3: seq %#x, ESP low %#x; want 1<<32 and 0", seq, lo)
	}
}

// TestSeqRules covers R-TX-8 at its edges for a 47-segment send: which first numbers are
// accepted, and the exact refusal for the others.
func TestSeqRules(t *testing.T) {
	l := layout{name: "IPv4 transport", icvLen: 16}
	payload := testPayload(bigPayload)
	cases := []struct {
		name  string
		seqHi uint32
		seqLo uint32
		esn   bool
		want  string // "" = accepted
	}{
		{"no ESN, S = 1", 0, 1, false, ""},
		{"no ESN, last = 2^32-1", 0, 0xffffffff - 46, false, ""},
		{"no ESN, last = 2^32", 0, 0xffffffff - 45, false,
			"lso: sequence numbers exhausted: 47 segments from sequence number 4294967250 would end at 4294967296, past 2^32-1 (SA without ESN)"},
		{"no ESN, crossing 2^32", 0, 0xfffffffd, false,
			"lso: sequence numbers exhausted: 47 segments from sequence number 4294967293 would end at 4294967339, past 2^32-1 (SA without ESN)"},
		{"no ESN, S = 0", 0, 0, false,
			"lso: sequence numbers exhausted: first sequence number 0: the counter starts sending at 1 and 0 is never used"},
		{"no ESN, high half set", 1, 5, false,
			"lso: sequence numbers exhausted: 47 segments from sequence number 4294967301 would end at 4294967347, past 2^32-1 (SA without ESN)"},
		{"ESN, S = 0", 0, 0, true,
			"lso: sequence numbers exhausted: first sequence number 0: the counter starts sending at 1 and 0 is never used"},
		{"ESN, S = 1<<32", 1, 0, true, ""},
		{"ESN, last = 2^64-1", 0xffffffff, 0xffffffff - 46, true, ""},
		{"ESN, past 2^64-1", 0xffffffff, 0xffffffff - 45, true,
			"lso: sequence numbers exhausted: 47 segments from sequence number 0xffffffffffffffd2 would pass 2^64-1 (ESN)"},
	}
	for _, c := range cases {
		frame := largeSend(t, l, payload, 0, c.seqLo)
		pl, err := Prepare(frame, Params{MSS: bigMSS, NextHeader: 6, ICVLen: 16, SeqHi: c.seqHi, ESN: c.esn})
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if s := uint64(c.seqHi)<<32 | uint64(c.seqLo); pl.Seq() != s || pl.LastSeq() != s+46 {
				t.Errorf("%s: S %#x last %#x", c.name, pl.Seq(), pl.LastSeq())
			}
			continue
		}
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrSeqExhausted) {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
		if pl != (Plan{}) {
			t.Errorf("%s: refused send returned a non-zero Plan", c.name)
		}
	}
}
