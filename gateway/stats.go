package gateway

import (
	"fmt"
	"sync/atomic"
)

// Reason is why the gateway dropped a frame itself (the NIC's failures and the host's
// verdicts are counted by the fast path).
type Reason uint8

// Drop reasons. Each dropped frame is counted under exactly one.
const (
	DropTruncated    Reason = iota // larger than a receive ring slot or block: the ring kept only its start
	DropTooBig                     // bridged, but longer than the other interface's MTU
	DropGSO                        // an aggregated (GSO/GRO) frame longer than the MTU, for an SA, that cannot be cut (neither TCP nor UDP_SEGMENT, IPv6 extension headers)
	DropMalformed                  // an IP packet for an SA whose headers do not add up
	DropFragment                   // an IPv4 fragment for a transport-mode SA (its ESP packet would look like a fragment itself: use tunnel mode)
	DropPolicy                     // plain traffic from outside that an inbound SA covers: it should have come protected
	DropWrongLane                  // for an SA of another lane (only while a reload moves SAs)
	DropNoICMP                     // too big once sealed, and no ICMP error may be sent about it (an ICMP error, a later fragment, multicast)
	DropBelowMinMTU                // IPv6 too big once sealed, and what would fit is below IPv6's minimum MTU (1280)
	DropSeqExhausted               // the SA's sequence numbers are used up (rekey)
	DropOffloadOff                 // ESP offload disabled in the NIC's current configuration
	DropUnsupported                // a packet shape the host model does not frame (IPv6 extension headers in transport mode, ...)
	DropNoBuffer                   // too big for a packet buffer
	DropSendError                  // the interface refused it (a hard error from sendmmsg)
	DropStopping                   // arrived while the gateway was stopping
	NumReasons
)

var reasonNames = [NumReasons]string{
	"truncated by the receive ring (a GRO/GSO frame: turn offloads off, or --ring blocks)", "too big for the other side's MTU", "GSO/GRO frame for an SA that cannot be cut (neither TCP nor UDP GSO)",
	"malformed IP for an SA", "IPv4 fragment for a transport-mode SA", "plain traffic an inbound SA covers", "SA on another lane (reload)",
	"too big once sealed, no ICMP error allowed", "too big once sealed, below IPv6's minimum MTU",
	"SA sequence numbers exhausted", "ESP offload disabled", "packet shape not supported by the host",
	"too big for a packet buffer", "interface refused it", "gateway stopping",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Counter is frames (or packets) and bytes.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

type counter struct{ packets, bytes atomic.Uint64 }

func (c *counter) add(p, b uint64) {
	if p != 0 {
		c.packets.Add(p)
		c.bytes.Add(b)
	}
}

func (c *counter) load() Counter { return Counter{c.packets.Load(), c.bytes.Load()} }

// sideStats count what came in on one interface and what became of it, beyond the fast
// path's own counts. One worker per lane writes them, in per-batch sums.
type sideStats struct {
	received   counter // frames taken from the receive rings
	toNIC      counter // IP packets handed to the fast path (Protect or Unprotect accepted them)
	bridged    counter // frames passed to the other side unchanged
	bridgedIP  counter // of bridged, IP packets (for no SA)
	icmp       counter // ICMP errors sent back (frames), for packets too big once sealed
	fragmented counter // IPv4 packets cut into fragments before sealing (the packets)
	fragments  atomic.Uint64
	segmented  counter       // GSO/GRO aggregates handed to the NIC as large sends (of toNIC)
	aggregates counter       // TCP and UDP aggregates bridged for the kernel to cut (of bridgedIP)
	udpSplit   counter       // UDP aggregates for an SA cut into datagrams before sealing
	datagrams  atomic.Uint64 // datagrams cut from them and handed to the fast path
	dgramErrs  atomic.Uint64 // datagrams the fast path refused (counted in drops too)
	// coalesced are the opened packets sent as parts of aggregates (decrypt), and
	// coalescedInto how many aggregates they made (each one frame in sent).
	coalesced     counter
	coalescedInto atomic.Uint64
	fragErrs      atomic.Uint64 // fragments the fast path refused (counted in drops too)
	sentErr       atomic.Uint64 // frames the interface refused, of those sent on this side's account
	drops         [NumReasons]atomic.Uint64
}

// batchCounts are a worker's counts for one batch, added to sideStats at its end.
type batchCounts struct {
	received, toNIC, bridged, bridgedIP, icmp, fragmented, segmented, aggregates, udpSplit [2]uint64 // packets, bytes
	fragments, fragErrs, datagrams, datagramErrs                                           uint64
	drops                                                                                  [NumReasons]uint64
}

func (b *batchCounts) flush(s *sideStats) {
	s.received.add(b.received[0], b.received[1])
	s.toNIC.add(b.toNIC[0], b.toNIC[1])
	s.bridged.add(b.bridged[0], b.bridged[1])
	s.bridgedIP.add(b.bridgedIP[0], b.bridgedIP[1])
	s.icmp.add(b.icmp[0], b.icmp[1])
	s.fragmented.add(b.fragmented[0], b.fragmented[1])
	s.segmented.add(b.segmented[0], b.segmented[1])
	s.aggregates.add(b.aggregates[0], b.aggregates[1])
	s.udpSplit.add(b.udpSplit[0], b.udpSplit[1])
	if b.datagrams != 0 {
		s.datagrams.Add(b.datagrams)
	}
	if b.datagramErrs != 0 {
		s.dgramErrs.Add(b.datagramErrs)
	}
	if b.fragments != 0 {
		s.fragments.Add(b.fragments)
	}
	if b.fragErrs != 0 {
		s.fragErrs.Add(b.fragErrs)
	}
	for i, n := range b.drops {
		if n != 0 {
			s.drops[i].Add(n)
		}
	}
	*b = batchCounts{}
}

func inc(c *[2]uint64, n int) {
	c[0]++
	c[1] += uint64(n)
}
