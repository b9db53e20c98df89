package stage

import (
	"sync/atomic"

	"github.com/ov2dev/ov2/packet"
)

// SendStats counts what the send path did. Every packet the host submitted is accounted
// for (see the package documentation for the invariant).
type SendStats struct {
	Submitted uint64 // packets the host handed in
	Split     uint64 // large sends cut into segments (each counts once here)
	Segments  uint64 // segments those large sends became
	Completed uint64 // packets and segments completed with NDIS_STATUS_SUCCESS
	Clear     uint64 // of Completed, sent without IPsec (handle 0 or offload disabled)
	Sealed    uint64 // of Completed, ESP-sealed (once per packet, also when two SAs)
	Bytes     uint64 // bytes of completed packets as they leave the NIC
	// Failed counts packets completed with NDIS_STATUS_FAILURE, by packet.Reason.
	Failed [packet.NumReasons]uint64
}

// FailedTotal is the sum of Failed.
func (s SendStats) FailedTotal() uint64 {
	var n uint64
	for _, f := range s.Failed {
		n += f
	}
	return n
}

// Balanced reports whether the accounting invariant holds.
func (s SendStats) Balanced() bool {
	return s.Submitted-s.Split+s.Segments == s.Completed+s.FailedTotal()
}

// laneStats is one lane's counters. Each counter has one writer (the goroutine of the
// stage that owns it), so the atomics only make reads from Stats() safe.
type laneStats struct {
	submitted, split, segments      atomic.Uint64
	completed, clear, sealed, bytes atomic.Uint64
	failed                          [packet.NumReasons]atomic.Uint64
}

func (l *laneStats) addTo(s *SendStats) {
	s.Submitted += l.submitted.Load()
	s.Split += l.split.Load()
	s.Segments += l.segments.Load()
	s.Completed += l.completed.Load()
	s.Clear += l.clear.Load()
	s.Sealed += l.sealed.Load()
	s.Bytes += l.bytes.Load()
	for i := range l.failed {
		s.Failed[i] += l.failed[i].Load()
	}
}
