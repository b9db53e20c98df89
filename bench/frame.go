package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The addresses of every benchmark packet: documentation prefixes (RFC 5737).
var (
	srcAddr = netip.MustParseAddr("192.0.2.1")
	dstAddr = netip.MustParseAddr("198.51.100.1")
)

// ipOverhead is the wire bytes of a transport ESP packet around its payload (the UDP or TCP
// header and data) when the payload needs no padding: IP 20, ESP header and IV 16, pad
// length and next header 2, ICV 16.
const ipOverhead = 20 + esp.PayloadOffset + esp.TrailerLen + 16

// payloadFor is the ESP payload (UDP header and data) that makes a packet of the given wire
// size: wire sizes are multiples of 4, so the padded payload plus its 2-byte trailer
// already is, and no padding is needed.
func payloadFor(wire int) int { return wire - ipOverhead }

// keyMat is a distinct key ‖ salt for each SPI: benchmark keys, not secrets.
func keyMat(spi uint32, keyLen int) []byte {
	k := make([]byte, keyLen+esp.SaltLen)
	for i := range k {
		k[i] = byte(spi*7+uint32(i)*13) ^ 0xa5
	}
	return k
}

// bundleFor is the ADD_SA bundle of an SA as the host model builds it: key material on
// the encryption algorithm for AES-GCM, on the authentication algorithm (encryption NONE)
// for AES-GMAC; transport mode, IPv4, no ESN, 16-byte ICV. The issue 11 suites are
// suiteBundle's.
func bundleFor(spi uint32, a Algo, inbound bool) sa.Bundle {
	if a.integrity() != esp.IntegrityNone {
		return suiteBundle(spi, a, inbound)
	}
	km := keyMat(spi, a.keyLen())
	id := uint32(ndis.EncAESGCM128)
	if a == AES256GCM {
		id = ndis.EncAESGCM256
	}
	keyAlg := sa.Algorithm{Identifier: id, KeyLength: uint32(len(km)), AdditionalInfo: 16}
	s := sa.SecAssoc{Operation: ndis.OpESP, Spi: spi}
	if a == GMAC {
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
		s.AuthenticationAlgorithm = keyAlg
	} else {
		s.EncryptionAlgorithm = keyAlg
	}
	b := sa.Bundle{Src: srcAddr, Dst: dstAddr, NumExtHdrs: 1, SecAssoc: [2]sa.SecAssoc{s}, KeyData: km}
	if inbound {
		b.Flags = ndis.SAInbound
	}
	return b
}

// addSAs offloads bundles with one OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA request and returns
// their handles; any bundle refused is an error.
func addSAs(n *nic.NIC, bundles []sa.Bundle) ([]sa.Handle, error) {
	if len(bundles) == 0 {
		return nil, nil
	}
	reqs := make([]nic.AddSA, len(bundles))
	for i := range bundles {
		reqs[i].Bundle = bundles[i]
		if i > 0 {
			reqs[i-1].Next = &reqs[i]
		}
	}
	if st, err := n.OIDAddSA(&reqs[0]); st != ndis.StatusSuccess {
		return nil, fmt.Errorf("bench: ADD_SA: %v: %w", st, err)
	}
	hs := make([]sa.Handle, len(bundles))
	for i := range reqs {
		if reqs[i].Err != nil {
			return nil, fmt.Errorf("bench: ADD_SA for SPI 0x%08x: %w", reqs[i].SecAssoc[0].Spi, reqs[i].Err)
		}
		hs[i] = reqs[i].OffloadHandle
	}
	return hs, nil
}

// deleteSAs removes SAs with one OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA request.
func deleteSAs(n *nic.NIC, hs []sa.Handle) error {
	if len(hs) == 0 {
		return nil
	}
	reqs := make([]nic.DeleteSA, len(hs))
	for i, h := range hs {
		reqs[i].OffloadHandle = h
		if i > 0 {
			reqs[i-1].Next = &reqs[i]
		}
	}
	if st, err := n.OIDDeleteSA(&reqs[0]); st != ndis.StatusSuccess {
		return fmt.Errorf("bench: DELETE_SA: %v: %w", st, err)
	}
	return nil
}

// ipv4Header writes a 20-byte IPv4 header of n total bytes carrying proto.
func ipv4Header(h []byte, n int, proto byte, id uint16) {
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(n))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], 0)
	h[8], h[9] = 64, proto
	s, d := srcAddr.As4(), dstAddr.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	inet.IPv4(h[:20]).SetChecksum()
}

// frameSmall frames a transport packet of algorithm a and (about, see suites.go) the given
// wire size into b as the host does (R-TX-4): IP header, the ESP header with seq, the IV
// left zero for the NIC, a UDP datagram, RFC 4303 trailer (next header 17) and zeroed ICV
// room; or, for AH, the AH header (PutHeader) and the UDP datagram. And the send OOB for
// handle.
func frameSmall(b *packet.Buffer, a Algo, wire int, spi, seq uint32, handle sa.Handle) {
	b.Reset()
	p, n := a.layout(wire)
	f := b.Append(n)
	u := frameHead(b, f, a, spi, seq)
	binary.BigEndian.PutUint16(u[0:], 40000+uint16(spi&0xff))
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], uint16(p))
	binary.BigEndian.PutUint16(u[6:], 0)
	for i := 8; i < p; i++ {
		u[i] = byte(i*31 + int(seq))
	}
	b.Tx.OffloadHandle = uint64(handle)
	b.Tx.NextHeader = inet.ProtoUDP
	if a.isAH() {
		return
	}
	pad := a.espAlg().PadLen(p)
	esp.AppendTrailer(u[p:p], pad, inet.ProtoUDP)
	clear(f[n-a.icvLen():])
	b.Tx.PadLength = uint8(pad)
}

// frameLarge frames a TCP large send for LSO + IPsec (R-TX-6) as the host does: IP header,
// the ESP header with the first segment's sequence number and IV room (or the AH header with
// it), TCP header, LSOPayload bytes of data, and no trailer or ICV room; MSS and next header
// in the send OOB.
func frameLarge(b *packet.Buffer, a Algo, spi, seq uint32, handle sa.Handle) {
	b.Reset()
	n := a.headLen() + 20 + LSOPayload
	f := b.Append(n)
	t := frameHead(b, f, a, spi, seq)
	if a.isAH() {
		f[20] = inet.ProtoTCP // AH's next header
	}
	binary.BigEndian.PutUint16(t[0:], 40000+uint16(spi&0xff))
	binary.BigEndian.PutUint16(t[2:], 5001)
	binary.BigEndian.PutUint32(t[4:], 0x10000000+seq)
	binary.BigEndian.PutUint32(t[8:], 1)
	t[12], t[13] = 5<<4, 0x18 // data offset 5 words; ACK|PSH
	binary.BigEndian.PutUint16(t[14:], 65535)
	binary.BigEndian.PutUint32(t[16:], 0) // checksum and urgent pointer
	for i := 20; i < len(t); i++ {
		t[i] = byte(i*31 + int(seq))
	}
	b.Tx.OffloadHandle = uint64(handle)
	b.Tx.NextHeader = inet.ProtoTCP
	b.Tx.MSS = LSOMSS
}

// errCheck marks a packet that the NIC handled wrongly in a preflight check.
var errCheck = errors.New("bench: the NIC's output does not verify")

// checkSealed opens a copy of a packet the send path sealed with the peer's transform and
// checks that its trailer is intact and names wantNH.
func checkSealed(tr *esp.Transform, frame []byte, wantNH byte) error {
	pkt := append([]byte(nil), frame[20:]...)
	plain, err := tr.Open(new(esp.Scratch), pkt, 0)
	if err != nil {
		return fmt.Errorf("%w: SPI 0x%08x seq %d: %v", errCheck, esp.SPI(pkt), esp.Seq(pkt), err)
	}
	if _, _, nh, err := esp.ParseTrailer(plain); err != nil || nh != wantNH {
		return fmt.Errorf("%w: SPI 0x%08x seq %d: trailer next header %d (want %d), %v", errCheck, esp.SPI(pkt), esp.Seq(pkt), nh, wantNH, err)
	}
	return nil
}
