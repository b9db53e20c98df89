package stage

import (
	"fmt"
	"sync/atomic"

	"github.com/ov2dev/ov2/ndis"
)

// RxSkip is why the NIC indicated a packet without IPsec processing (both done flags 0).
type RxSkip uint8

// Reasons for not processing a received packet. Each is counted; none drops the packet.
const (
	SkipNone        RxSkip = iota // processed (CryptoDone set)
	SkipDisabled                  // ESP offload disabled in the current configuration (R-RX-1)
	SkipNotIPsec                  // not IPsec: plain IP, IKE behind the non-ESP marker, a NAT-T keepalive
	SkipAH                        // AH, with AH offload disabled in the current configuration (R-RX-1)
	SkipMalformed                 // the IP header does not parse
	SkipFragment                  // a fragment: ESP is checked on the reassembled packet
	SkipUnsupported               // outside the advertised capabilities (R-RX-3)
	SkipNoSA                      // no inbound SA for the SPI and destination (R-RX-2)
	NumSkips
)

var skipNames = [NumSkips]string{"none", "offload-disabled", "not-ipsec", "ah", "malformed", "fragment", "unsupported", "no-sa"}

func (s RxSkip) String() string {
	if s < NumSkips {
		return skipNames[s]
	}
	return fmt.Sprintf("RxSkip(%d)", uint8(s))
}

// RecvStats counts what the receive path did. Every packet is indicated:
// Received == Indicated == sum(Skipped) + sum(Status).
type RecvStats struct {
	Received  uint64
	Indicated uint64
	Bytes     uint64
	// Skipped counts packets indicated without IPsec processing, by reason.
	Skipped [NumSkips]uint64
	// Status counts packets the NIC checked (CryptoDone), by CryptoStatus.
	Status [ndis.CryptoInvalidProtocol + 1]uint64
	// NextCryptoDone counts packets whose tunnel and transport parts were both checked.
	NextCryptoDone uint64
	// SaDeleteReq counts packets indicated with SaDeleteReq set.
	SaDeleteReq uint64
}

// Balanced reports whether every received packet was indicated and counted once.
func (s RecvStats) Balanced() bool {
	var n uint64
	for _, k := range s.Skipped {
		n += k
	}
	for _, k := range s.Status {
		n += k
	}
	return s.Received == s.Indicated && s.Indicated == n
}

// rxLaneStats is one lane's receive counters; see laneStats for the atomics.
type rxLaneStats struct {
	received, indicated, bytes, next, delReq atomic.Uint64
	skipped                                  [NumSkips]atomic.Uint64
	status                                   [ndis.CryptoInvalidProtocol + 1]atomic.Uint64
}

func (l *rxLaneStats) addTo(s *RecvStats) {
	s.Received += l.received.Load()
	s.Indicated += l.indicated.Load()
	s.Bytes += l.bytes.Load()
	s.NextCryptoDone += l.next.Load()
	s.SaDeleteReq += l.delReq.Load()
	for i := range l.skipped {
		s.Skipped[i] += l.skipped[i].Load()
	}
	for i := range l.status {
		s.Status[i] += l.status[i].Load()
	}
}
