package bench

import (
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The suites of issue 11 next to AES-GCM: how each Algo frames its packets and which NDIS
// identifiers its ADD_SA names. Every packet is IPv4 transport mode; an AH packet is
// IP | AH | UDP datagram, an ESP packet IP | ESP header | IV | UDP datagram | padding |
// pad length | next header | ICV.
//
// Wire sizes: AES-GCM, AES-GMAC, NULL and AH frame every size of the benchmark (a multiple
// of 4 from 64) exactly. AES-CBC pads its payload and trailer to whole 16-byte blocks behind
// a 16-byte IV, so its packets come in steps of 16: a row frames the achievable size nearest
// the one asked for (the smaller on a tie), at least a UDP header's worth of payload. That
// moves 64 to 76 (HMAC-SHA-256-128) or 72 (HMAC-SHA1-96) and 1400 to 1404 / 1400; the rows
// and raw loops report the wire bytes really framed.

// espAlg is the ESP transform of the algorithm, 0 for AH.
func (a Algo) espAlg() esp.Algorithm {
	switch a {
	case AES128GCM, AES256GCM:
		return esp.AESGCM
	case GMAC:
		return esp.AESGMAC
	case AES128CBCSHA256, AES256CBCSHA1:
		return esp.AESCBC
	case NULLSHA256:
		return esp.NULL
	}
	return 0
}

// integrity is the HMAC of the encrypt-then-MAC ESP suites and of AH; IntegrityNone for the
// AES-GCM family, which authenticates by itself.
func (a Algo) integrity() esp.Integrity {
	switch a {
	case AES128CBCSHA256, NULLSHA256, AHSHA256:
		return esp.HMACSHA256_128
	case AES256CBCSHA1:
		return esp.HMACSHA1_96
	}
	return esp.IntegrityNone
}

// isAH says the algorithm is AH alone.
func (a Algo) isAH() bool { return a == AHSHA256 }

// icvLen is the ESP ICV (0 for AH, whose ICV sits in its header).
func (a Algo) icvLen() int {
	switch {
	case a.isAH():
		return 0
	case a.integrity() != esp.IntegrityNone:
		return a.integrity().ICVLen()
	}
	return 16
}

// ahLen is the AH header in IPv4 (0 for ESP).
func (a Algo) ahLen() int {
	if !a.isAH() {
		return 0
	}
	return ah.HeaderLen(0, a.integrity().ICVLen(), false)
}

// headLen is what precedes the UDP datagram: the IP header and the AH header, or the ESP
// header and IV.
func (a Algo) headLen() int {
	if a.isAH() {
		return 20 + a.ahLen()
	}
	return 20 + esp.HeaderLen + a.espAlg().IVLen()
}

// layout is the UDP datagram length (payload) and the wire size of the packet the
// algorithm frames for a wanted wire size (see the file comment); ESP packets need no
// padding beyond what the datagram length already brings.
func (a Algo) layout(want int) (payload, wire int) {
	if a.isAH() {
		payload = max(8, want-a.headLen())
		return payload, a.headLen() + payload
	}
	align := a.espAlg().PadAlign()
	over := a.headLen() + a.icvLen()            // body = payload + padding + 2 lies between
	minBody := (10 + align - 1) / align * align // a UDP header and the 2 trailer bytes
	body := (want - over) / align * align
	if rest := want - over - body; rest*2 > align {
		body += align
	}
	body = max(body, minBody)
	return body - esp.TrailerLen, over + body
}

// wirePattern is Size.Pattern in this algorithm's real wire sizes.
func (a Algo) wirePattern(s Size) []int {
	p := s.Pattern()
	out := make([]int, len(p))
	for i, w := range p {
		if s.Kind == LSO64K {
			out[i] = a.segmentWire()
			continue
		}
		_, out[i] = a.layout(w)
	}
	return out
}

// meanWire is Size.MeanWire in this algorithm's real wire sizes.
func (a Algo) meanWire(s Size) float64 {
	sum := 0
	p := a.wirePattern(s)
	for _, n := range p {
		sum += n
	}
	return float64(sum) / float64(len(p))
}

// segmentWire is the wire size of an LSO segment of MSS LSOMSS: the headers, TCP 20, the
// chunk, and for ESP the trailer padded to the algorithm's boundary and the ICV.
func (a Algo) segmentWire() int {
	n := a.headLen() + 20 + LSOMSS
	if a.isAH() {
		return n
	}
	return n + a.espAlg().PadLen(20+LSOMSS) + esp.TrailerLen + a.icvLen()
}

// suiteKeys are an SA's keys, derived from its SPI: for AES-GCM key ‖ salt; for the
// encrypt-then-MAC suites the AES key (none for NULL) and the HMAC key; for AH the HMAC key.
func suiteKeys(spi uint32, a Algo) (enc, auth []byte) {
	if a.integrity() == esp.IntegrityNone {
		return keyMat(spi, a.keyLen()), nil
	}
	if !a.isAH() && a.keyLen() > 0 {
		enc = keyMat(spi, a.keyLen())[:a.keyLen()]
	}
	auth = keyMat(spi^0x5a5a5a5a, a.integrity().KeyLen()-esp.SaltLen)
	return enc, auth
}

// suiteBundle is bundleFor for the issue 11 suites: NDIS identifiers and key layout as
// sa/params.go documents them.
func suiteBundle(spi uint32, a Algo, inbound bool) sa.Bundle {
	enc, auth := suiteKeys(spi, a)
	authID := uint32(ndis.AuthSHA256)
	if a.integrity() == esp.HMACSHA1_96 {
		authID = ndis.AuthSHA1
	}
	s := sa.SecAssoc{Operation: ndis.OpESP, Spi: spi}
	switch {
	case a.isAH():
		s.Operation = ndis.OpAH
	case a == NULLSHA256:
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
	default:
		id := uint32(ndis.EncAESCBC128)
		if a.keyLen() == 32 {
			id = ndis.EncAESCBC256
		}
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: id, KeyLength: uint32(len(enc))}
	}
	s.AuthenticationAlgorithm = sa.Algorithm{Identifier: authID, KeyLength: uint32(len(auth)), KeyOffsetBytes: uint32(len(enc))}
	b := sa.Bundle{Src: srcAddr, Dst: dstAddr, NumExtHdrs: 1, SecAssoc: [2]sa.SecAssoc{s},
		KeyData: append(append([]byte(nil), enc...), auth...)}
	if inbound {
		b.Flags = ndis.SAInbound
	}
	return b
}

// peer is the far end of an SA: the same keys in independent transforms.
type peer struct {
	esp *esp.Transform
	ah  *ah.Transform
}

// peerFor keys the far end of an SA.
func peerFor(spi uint32, a Algo) (peer, error) {
	enc, auth := suiteKeys(spi, a)
	if a.isAH() {
		tr, err := ah.NewTransform(ah.Params{Integrity: a.integrity(), Key: auth})
		return peer{ah: tr}, err
	}
	tr, err := esp.NewTransform(esp.Params{Alg: a.espAlg(), KeyMat: enc, Integrity: a.integrity(), IntegrityKey: auth})
	return peer{esp: tr}, err
}

// frameHead writes the IPv4 header and the AH or ESP header of a packet of n bytes that fills
// f, and the send OOB's header offset; it returns where the datagram (UDP or TCP) goes.
func frameHead(b *packet.Buffer, f []byte, a Algo, spi, seq uint32) []byte {
	if a.isAH() {
		ipv4Header(f, len(f), inet.ProtoAH, uint16(seq))
		ah.PutHeader(f[20:], inet.ProtoUDP, a.ahLen(), spi, seq)
		b.Tx.AhHeaderOffset = 20 / 4
		return f[a.headLen():]
	}
	ipv4Header(f, len(f), inet.ProtoESP, uint16(seq))
	esp.PutHeader(f[20:], spi, seq)
	clear(f[20+esp.HeaderLen : a.headLen()])
	b.Tx.EspHeaderOffset = 20 / 4
	return f[a.headLen():]
}

// sealAs protects a framed packet as the peer's NIC would.
func (p peer) sealAs(f []byte, seq uint32) error {
	if p.ah != nil {
		_, err := p.ah.Insert(new(ah.Scratch), f, 0)
		return err
	}
	body := f[20 : len(f)-p.esp.ICVLen()]
	p.esp.PutIV(body, uint64(seq))
	_, err := p.esp.Seal(new(esp.Scratch), body, 0)
	return err
}

// check verifies, on a copy, a packet the send path sealed, and that what it protects is
// next header wantNH.
func (p peer) check(frame []byte, wantNH byte) error {
	pkt := append([]byte(nil), frame...)
	if p.ah != nil {
		l, err := p.ah.Verify(new(ah.Scratch), pkt, 0)
		if err != nil || l.NextHeader != wantNH {
			return fmt.Errorf("%w: AH SPI 0x%08x seq %d: next header %d (want %d), %v", errCheck, l.SPI, l.Seq, l.NextHeader, wantNH, err)
		}
		return nil
	}
	return checkSealed(p.esp, frame, wantNH)
}

// spiOf is the SPI of a benchmark packet: the AH SPI for AH, else the ESP SPI.
func spiOf(a Algo, f []byte) uint32 {
	if a.isAH() {
		return binary.BigEndian.Uint32(f[24:28])
	}
	return esp.SPI(f[20:])
}

// rawName names what the algorithm's raw limit runs.
func (a Algo) rawName() string {
	switch {
	case a.integrity() == esp.IntegrityNone:
		return "crypto/cipher"
	case a.espAlg() == esp.AESCBC:
		return "crypto/aes CBC + crypto/hmac"
	}
	return "crypto/hmac"
}
