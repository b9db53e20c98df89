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
	// AHAllowed is ESPAllowed for AH (R-TX-1, R-RX-1): a packet that needs AH (send:
	// AhHeaderOffset set; receive: an AH header) is processed only when it says yes, and an
	// ESP+AH packet only when both say yes. nil means always enabled.
	AHAllowed func(ipv6 bool) bool
	// Segments is where the LSO stage takes a buffer for each segment it cuts. Its data
	// size must hold a segment (MSS plus headers, trailer and ICV); packet.SmallSize
	// does for MSS up to 1900 or so.
	Segments *packet.Pool

	// RxCaps reports what the receive side may process under the advertised capabilities
	// (R-RX-3); called once per burst. nil means everything.
	RxCaps func() RxCaps
	// DeleteReq is the SaDeleteReq policy (R-RX-7); the zero value never asks.
	DeleteReq DeletePolicy
}

// RxCaps is the part of the NIC's capabilities the receive path checks (R-RX-3).
type RxCaps struct {
	IPv4Options                  bool   // process IPv4 packets with header options
	IPv6NonIPsecExtensionHeaders bool   // process IPv6 packets with non-IPsec extension headers
	UDPEsp                       uint32 // the UDP-ESP encapsulation types advertised (ndis.UDPEsp* mask)
}

// DeletePolicy says when the NIC sets SaDeleteReq on a packet of an inbound SA (R-RX-7).
// The NIC only asks; it never removes an SA itself (R-SA-8). Zero fields are off.
type DeletePolicy struct {
	// SeqRemaining asks when fewer than this many sequence numbers remain in the SA's
	// space (2^32 without ESN, 2^64 with).
	SeqRemaining uint64
	// MaxPackets and MaxBytes are packet and byte lifetimes of the SA.
	MaxPackets, MaxBytes uint64
	// MaxAuthFailures asks once the SA has seen this many ICV failures.
	MaxAuthFailures uint64
}

func (e *Env) rxCaps() RxCaps {
	if e.RxCaps == nil {
		return RxCaps{IPv4Options: true, IPv6NonIPsecExtensionHeaders: true, UDPEsp: ^uint32(0)}
	}
	return e.RxCaps()
}

func (e *Env) espAllowed(ipv6 bool) bool {
	return e.ESPAllowed == nil || e.ESPAllowed(ipv6)
}

func (e *Env) ahAllowed(ipv6 bool) bool {
	return e.AHAllowed == nil || e.AHAllowed(ipv6)
}
