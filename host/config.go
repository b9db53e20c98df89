package host

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/esp"
)

// Mode is the IPsec mode of an SA.
type Mode uint8

// Modes.
const (
	Transport Mode = iota
	Tunnel
)

func (m Mode) String() string {
	if m == Tunnel {
		return "tunnel"
	}
	return "transport"
}

// SAConfig is one outbound SA as the host knows it: keys, mode, addresses, and the
// selector that decides which packets use it.
type SAConfig struct {
	SPI    uint32
	Alg    esp.Algorithm // esp.AESGCM or esp.AESGMAC
	Key    []byte        // AES key: 16, 24 or 32 bytes
	Salt   [4]byte       // RFC 4106 salt
	ICVLen int           // 8, 12 or 16 (0 = 16)
	ESN    bool
	Mode   Mode

	// Src and Dst are the tunnel endpoints (Tunnel), or the hosts whose traffic the SA
	// carries (Transport, where they also act as the selector unless Selector is set).
	Src, Dst netip.Addr

	// NATT wraps ESP in UDP (RFC 3948); SPort and DPort default to 4500.
	NATT         bool
	SPort, DPort uint16

	// Selector picks the packets for this SA; zero prefixes match anything. In transport
	// mode with no selector, the packet's addresses must equal Src and Dst.
	Selector Selector

	// StartSeq is the first sequence number to use (default 1). A run can start just
	// below 2^32 to exercise ESN. For an inbound SA it is the first number expected: the
	// anti-replay window's top starts at StartSeq-1, the last number accepted (what xfrm
	// calls replay-seq), and ADD_SA names that number's high half (see seqHi).
	StartSeq uint64

	// ReplayWindow is the inbound anti-replay window in packets (0: the Receiver's).
	ReplayWindow int
}

// Selector is a traffic selector on source and destination prefixes.
type Selector struct {
	Src, Dst netip.Prefix
}

func (s Selector) matches(src, dst netip.Addr) bool {
	return (!s.Src.IsValid() || s.Src.Contains(src)) && (!s.Dst.IsValid() || s.Dst.Contains(dst))
}

// seqHi is the high half the host names in ADD_SA (SequenceNumberHighOrder; 0 without
// ESN). For an outbound SA it is that of the first number to send, StartSeq. For an inbound
// SA it is that of the window's top, StartSeq-1, the last number accepted: the NIC infers the
// high half of a received packet from where the host says the stream is (R-RX-8,
// stage/rxesn.go), and an SA whose last number was H:0xffffffff is still in subspace H,
// its next packet H+1:0 being the first after the wrap. Call it after normalize.
func (c *SAConfig) seqHi(inbound bool) uint32 {
	if !c.ESN {
		return 0
	}
	if inbound {
		return uint32((c.StartSeq - 1) >> 32)
	}
	return uint32(c.StartSeq >> 32)
}

// ErrConfig is wrapped by every error about an SAConfig.
var ErrConfig = errors.New("host: invalid SA configuration")

func (c *SAConfig) normalize() error {
	if c.ICVLen == 0 {
		c.ICVLen = 16
	}
	if c.SPort == 0 {
		c.SPort = 4500
	}
	if c.DPort == 0 {
		c.DPort = 4500
	}
	if c.StartSeq == 0 {
		c.StartSeq = 1
	}
	switch {
	case c.SPI == 0:
		return fmt.Errorf("%w: SPI 0 is reserved", ErrConfig)
	case len(c.Key) != 16 && len(c.Key) != 24 && len(c.Key) != 32:
		return fmt.Errorf("%w: SPI 0x%08x: key of %d bytes, want 16, 24 or 32", ErrConfig, c.SPI, len(c.Key))
	case c.Alg != esp.AESGCM && c.Alg != esp.AESGMAC:
		return fmt.Errorf("%w: SPI 0x%08x: algorithm %v", ErrConfig, c.SPI, c.Alg)
	case !c.Src.IsValid() || !c.Dst.IsValid() || c.Src.Is4() != c.Dst.Is4():
		return fmt.Errorf("%w: SPI 0x%08x: addresses %v -> %v must both be IPv4 or both IPv6", ErrConfig, c.SPI, c.Src, c.Dst)
	case !c.ESN && c.StartSeq > 1<<32-1:
		return fmt.Errorf("%w: SPI 0x%08x: start sequence %d needs ESN", ErrConfig, c.SPI, c.StartSeq)
	}
	return nil
}
