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
	Alg    esp.Algorithm // esp.AESGCM, esp.AESGMAC, esp.AESCBC or esp.NULL; 0 for AH
	Key    []byte        // AES key: 16, 24 or 32 bytes (AES-GCM, AES-GMAC, AES-CBC, AH AES-GMAC); none for NULL
	Salt   [4]byte       // RFC 4106 / RFC 4543 salt (AES-GCM, AES-GMAC, AH AES-GMAC)
	ICVLen int           // AES-GCM: 8, 12 or 16 (0 = 16); the others: 0 or their algorithm's (12 or 16)
	ESN    bool
	Mode   Mode

	// Proto is ESP (the zero value) or AH (suites.go has the table of suites).
	Proto Proto
	// Integrity is the HMAC of an AES-CBC or NULL ESP SA (esp.HMACSHA1_96,
	// esp.HMACSHA256_128), or an AH SA's algorithm (those, or esp.GMAC128/192/256 keyed by
	// Key and Salt). IntegrityNone for AES-GCM and AES-GMAC.
	Integrity esp.Integrity
	// AuthKey is the HMAC key: 20 bytes for HMAC-SHA1-96, 32 for HMAC-SHA-256-128.
	AuthKey []byte
	// AH, on an ESP SA, is the AH SA applied over it: the two form one ESP+AH bundle
	// (ADD_SA NumExtHdrs 2), one handle. The AH part's own SPI, Integrity, keys, ESN,
	// StartSeq and ReplayWindow count; its addresses, mode and selector are the ESP SA's.
	AH *SAConfig

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

// Matches reports whether the SA carries a packet from src to dst: its selector matches
// (a selector is set, or the SA is a tunnel), or, in transport mode without a selector,
// the packet's addresses are the SA's. It is the host's policy test; a host that chooses
// SAs itself (Sender.SendVia) uses it to agree with Send.
func (c *SAConfig) Matches(src, dst netip.Addr) bool {
	if c.Selector.Src.IsValid() || c.Selector.Dst.IsValid() || c.Mode == Tunnel {
		return c.Selector.matches(src, dst)
	}
	return src == c.Src && dst == c.Dst
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
	case !c.Src.IsValid() || !c.Dst.IsValid() || c.Src.Is4() != c.Dst.Is4():
		return fmt.Errorf("%w: SPI 0x%08x: addresses %v -> %v must both be IPv4 or both IPv6", ErrConfig, c.SPI, c.Src, c.Dst)
	case !c.ESN && c.StartSeq > 1<<32-1:
		return fmt.Errorf("%w: SPI 0x%08x: start sequence %d needs ESN", ErrConfig, c.SPI, c.StartSeq)
	}
	return c.normalizeSuite(false)
}
