package sa

import (
	"net/netip"
	"sync/atomic"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
)

// SA is one offloaded bundle as the data path sees it. Everything but State is immutable
// from the moment the SA is published in a Table; State holds what changes while packets
// flow.
type SA struct {
	Handle   Handle
	Inbound  bool
	IPv6     bool
	Src, Dst netip.Addr // as given in ADD_SA; see DstWildcard

	// DstWildcard is true when the bundle's destination was a wildcard: such an inbound SA
	// matches any destination of its address family (R-RX-2).
	DstWildcard bool

	UdpEspEncapsulation        uint32
	EncapSrcPort, EncapDstPort uint16

	// SPI, ESN, Transform and State describe the bundle's first entry, SecAssoc[0]: its ESP
	// part, or its AH part in an AH-only bundle. Transform is the ESP transform, nil in an
	// AH-only bundle; it was built once, when the SA was added, and fixed its AES-GCM
	// implementation then (Transform.Impl).
	SPI       uint32
	ESN       bool
	Transform *esp.Transform

	// EncryptionAlgorithm and AuthenticationAlgorithm are SecAssoc[0]'s identifiers from
	// ADD_SA.
	EncryptionAlgorithm, AuthenticationAlgorithm uint32

	State *State

	// AH is the bundle's AH part, nil in an ESP-only bundle. In an AH-only bundle its SPI,
	// ESN and State are also the SA's own (AH.State == State); in an ESP+AH bundle AH has
	// its own sequence space, ESN high half and counters (RFC 4301: two SAs, one bundle).
	AH *AHPart

	dst16 [16]byte // Dst in 16-byte form for the receive match
}

// AHPart is the AH entry of a bundle (RFC 4302): its own SPI, sequence space and key.
type AHPart struct {
	SPI       uint32
	ESN       bool
	Transform *ah.Transform
	// AuthenticationAlgorithm is the identifier from ADD_SA (ndis.AuthSHA1, AuthSHA256 or
	// AuthAESGCM128/192/256 for AES-GMAC).
	AuthenticationAlgorithm uint32
	State                   *State
}

// HasESP reports whether the bundle has an ESP part (Transform is not nil).
func (a *SA) HasESP() bool { return a.Transform != nil }

// OuterSPI is the SPI the received packets of the bundle carry in their outermost IPsec
// header, by which the receive path looks it up (R-RX-2): the AH SPI when the bundle has
// AH (AH is applied last, outside ESP), else the ESP SPI.
func (a *SA) OuterSPI() uint32 {
	if a.AH != nil {
		return a.AH.SPI
	}
	return a.SPI
}

// KeyZeroed reports whether the key material of every part of the bundle is zeroed: what
// DELETE_SA guarantees once it returns (R-SA-5).
func (a *SA) KeyZeroed() bool {
	return (a.Transform == nil || a.Transform.KeyZeroed()) && (a.AH == nil || a.AH.Transform.KeyZeroed())
}

// wipe zeroes the key material of every part.
func (a *SA) wipe() {
	if a.Transform != nil {
		a.Transform.Wipe()
	}
	if a.AH != nil {
		a.AH.Transform.Wipe()
	}
}

// State is the mutable part of an SA. The data path and the control goroutine share it
// through atomics only.
type State struct {
	seqHi   atomic.Uint32 // ESN high half: set by ADD_SA, UPDATE_SA (R-SA-6, R-RX-8)
	deleted atomic.Bool   // set by DELETE_SA before the SA leaves the table

	// rxTop is the highest 64-bit sequence number the NIC has verified on this inbound SA:
	// with the high half from UPDATE_SA it is the reference for inferring the high half of
	// a received packet (R-RX-8). 0 means none yet (0 is never sent, so never verified),
	// and the inference then starts from the high half alone (stage/rxesn.go). One lane
	// handles an SA, but the CAS keeps it monotonic whatever the placement.
	rxTop atomic.Uint64
	// tunnel is set once a packet verified on this SA carried an inner IP packet: the NIC
	// then reports ICV failures on it as tunnel failures (CryptoStatus 5, not 3).
	tunnel atomic.Bool

	// Counters the data path updates; the SaDeleteReq policy and reports read them.
	Packets      atomic.Uint64
	Bytes        atomic.Uint64
	AuthFailures atomic.Uint64
}

// SeqHi is the current high half of the 64-bit sequence number (ESN SAs; 0 otherwise).
func (s *State) SeqHi() uint32 { return s.seqHi.Load() }

// RxTop is the highest sequence number the NIC verified on this inbound SA (0 before any).
func (s *State) RxTop() uint64 { return s.rxTop.Load() }

// NoteVerified raises RxTop to seq if seq is higher. Call only for packets whose ICV
// verified.
func (s *State) NoteVerified(seq uint64) {
	for {
		t := s.rxTop.Load()
		if seq <= t || s.rxTop.CompareAndSwap(t, seq) {
			return
		}
	}
}

// Tunnel reports whether a verified packet on this SA was tunnel mode.
func (s *State) Tunnel() bool { return s.tunnel.Load() }

// NoteTunnel records that the SA carries tunnel-mode traffic.
func (s *State) NoteTunnel() {
	if !s.tunnel.Load() {
		s.tunnel.Store(true)
	}
}

// Deleted reports whether DELETE_SA has been issued for the SA.
func (s *State) Deleted() bool { return s.deleted.Load() }

// Operation is the protocol of the bundle's first entry, SecAssoc[0]: ESP, or AH in an
// AH-only bundle.
func (a *SA) Operation() ndis.Operation {
	if a.Transform == nil {
		return ndis.OpAH
	}
	return ndis.OpESP
}

// matchDst reports whether an inbound packet's destination (4 or 16 raw bytes) selects this
// SA: the same family and either a wildcard or the same address (R-RX-2).
func (a *SA) matchDst(dst []byte) bool {
	if (len(dst) == 16) != a.IPv6 {
		return false
	}
	if a.DstWildcard {
		return true
	}
	if len(dst) == 4 {
		return [4]byte(dst) == [4]byte(a.dst16[12:])
	}
	return [16]byte(dst) == a.dst16
}
