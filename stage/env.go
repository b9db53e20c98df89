package stage

import (
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// Env is what the stages need from the NIC around them. Keeping it a small struct of
// values (not the nic.NIC itself) keeps the dependency one way (nic → stage) and lets tests
// drive the stages with a bare sa.Controller.
type Env struct {
	// SAs is the NIC's SA store; each SA-using stage registers a Reader with it.
	SAs *sa.Controller
	// ESPAllowed reports whether the current configuration enables ESP offload for
	// IPv4 (false) or IPv6 (true) traffic (R-TX-1, R-RX-1). It is called once per burst
	// and family, so it must be cheap (an atomic load); nil means always enabled.
	ESPAllowed func(ipv6 bool) bool
	// Segments is where the LSO stage takes a buffer for each segment it cuts. Its data
	// size must hold a segment (MSS plus headers, trailer and ICV); packet.SmallSize
	// does for MSS up to 1900 or so.
	Segments *packet.Pool
}

func (e *Env) espAllowed(ipv6 bool) bool {
	return e.ESPAllowed == nil || e.ESPAllowed(ipv6)
}
