package stage

import (
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// rxLookup classifies each received packet (classifyRx) and decides whether the NIC
// processes it, and finds its SA (R-RX-1, R-RX-2, R-RX-3):
//
//   - offload of the packet's outermost IPsec protocol disabled for its IP version:
//     indicated without processing (SkipDisabled for ESP, SkipAH for AH);
//   - not IPsec (plain IP, IKE, keepalives, malformed IP, fragments): without processing;
//   - outside the capabilities (IPv4 options, IPv6 non-IPsec extension headers, a UDP-ESP
//     type not advertised): without processing;
//   - no inbound SA for the SPI, or the SA's destination differs (unless a wildcard):
//     without processing. ESP is looked up among the ESP-only bundles by its SPI, AH among
//     the bundles with AH (AH alone, or ESP+AH) by the AH SPI;
//   - an SA whose encapsulation (UDP or not) differs from the packet's: checked and failed
//     with CRYPTO_INVALID_PROTOCOL; an ESP header cut short, or an AH header whose lengths do
//     not add up: CRYPTO_INVALID_PACKET_SYNTAX. Whether an ESP+AH bundle's packet really
//     has ESP after AH is the open stage's check, after AH has verified.
//
// A packet the NIC will open leaves with Rx.Handle set, and its SA goes on with the burst
// to the open stage when that runs next in the same read section (Burst.carry); the others
// carry their RxSkip in Meta.Skip.
type rxLookup struct {
	env *Env
}

// setSkip and skipOf keep a packet's RxSkip in Meta.Skip between stages.
func setSkip(p *packet.Buffer, s RxSkip) { p.Meta.Skip = uint8(s) }
func skipOf(p *packet.Buffer) RxSkip     { return RxSkip(p.Meta.Skip) }

func (l *rxLookup) process(b *Burst, tb *sa.Table) {
	espOn := [2]bool{l.env.espAllowed(false), l.env.espAllowed(true)}
	ahOn := [2]bool{l.env.ahAllowed(false), l.env.ahAllowed(true)}
	caps := l.env.rxCaps()
	b.startCarry(tb)
	pkts := b.Slice()
	prefetchHeads(pkts, true) // the frame's place, Rx, Meta and the IP header
	for i, p := range pkts {
		classifyRx(p) // the classify stage, in the same pass (rxclassify.go)
		m := &p.Meta
		fam := 0
		if m.IPv6 {
			fam = 1
		}
		isAH := false
		switch rxparse.Kind(m.Kind) {
		case rxparse.KindESP, rxparse.KindUDPESP:
			if !espOn[fam] {
				setSkip(p, SkipDisabled)
				continue
			}
		case rxparse.KindAH:
			if !ahOn[fam] {
				setSkip(p, SkipAH)
				continue
			}
			isAH = true
		case rxparse.KindMalformed:
			setSkip(p, SkipMalformed)
			continue
		default:
			setSkip(p, SkipNotIPsec)
			continue
		}
		switch {
		case m.Flags&rxFragment != 0:
			setSkip(p, SkipFragment)
			continue
		case m.Flags&rxIPv4Options != 0 && !caps.IPv4Options,
			m.Flags&rxIPv6Ext != 0 && !caps.IPv6NonIPsecExtensionHeaders,
			m.Flags&rxUDP != 0 && caps.UDPEsp&(ndis.UDPEspTransport|ndis.UDPEspTunnel) == 0:
			setSkip(p, SkipUnsupported)
			continue
		}
		frame := p.Bytes()
		dst := frame[m.DstOff : m.DstOff+int32(m.DstLen)]
		var a *sa.SA
		if isAH {
			a = tb.LookupInboundAH(m.SPI, dst)
		} else {
			a = tb.LookupInbound(m.SPI, dst)
		}
		if a == nil {
			setSkip(p, SkipNoSA)
			continue
		}
		if isAH && a.HasESP() && !espOn[fam] {
			setSkip(p, SkipDisabled) // an ESP+AH bundle needs both protocols enabled
			continue
		}
		p.Rx.Handle = uint64(a.Handle)
		b.carry(i, a)
		switch {
		case m.Flags&rxShort != 0:
			fail(p, ndis.CryptoInvalidPacketSyntax)
		case (m.Flags&rxUDP != 0) != (a.UdpEspEncapsulation != ndis.UDPEspNone):
			fail(p, ndis.CryptoInvalidProtocol)
		}
	}
}

// fail records the NIC's verdict on a packet it checked (R-RX-4): CryptoDone with a
// non-success status.
func fail(p *packet.Buffer, st ndis.CryptoStatus) {
	p.Rx.CryptoDone = true
	p.Rx.CryptoStatus = st
}
