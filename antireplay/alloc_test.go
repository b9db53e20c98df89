package antireplay

import "testing"

// TestPerPacketCallsDoNotAllocate holds Infer, Check and Accept to zero allocations:
// they run once per received packet, and the verdicts are fixed error values for that
// reason. Accept is measured moving forward, reordered, rejected and jumping.
func TestPerPacketCallsDoNotAllocate(t *testing.T) {
	w, err := New(DefaultSize, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Start(1<<32 - 500)
	var seq uint64 = 1<<32 - 500
	var sink uint64
	var errs int
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Infer", func() { sink += w.Infer(uint32(seq)) }},
		{"Check", func() {
			if w.Check(seq-3) != nil {
				errs++
			}
		}},
		{"Accept in order", func() { seq++; _ = w.Accept(seq) }},
		{"Accept reordered", func() { seq += 2; _ = w.Accept(seq); _ = w.Accept(seq - 1) }},
		{"Accept duplicate", func() {
			if w.Accept(seq) != ErrReplay {
				errs++
			}
		}},
		{"Accept jump", func() { seq += 1 << 20; _ = w.Accept(seq) }},
	} {
		if allocs := testing.AllocsPerRun(1000, tc.f); allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tc.name, allocs)
		}
	}
	if errs != 0 {
		t.Errorf("%d unexpected verdicts while measuring", errs)
	}
	_ = sink
}
