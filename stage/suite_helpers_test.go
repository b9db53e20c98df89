package stage_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// This file is a small host for the issue 11 suites: it offloads SAs of any suite through
// ADD_SA's NDIS identifiers, frames packets for them as the host must (R-TX-4 for ESP and
// AH), and plays the peer with independent esp and ah transforms keyed the same way.

// suiteSpec is one SA bundle's suite, by NDIS identifiers: ESP (encryption, integrity), AH
// (integrity), or both. Zero identifiers mean "no such part".
type suiteSpec struct {
	name           string
	enc, espAuth   uint32 // ESP: EncryptionAlgorithm and AuthenticationAlgorithm identifiers; enc 0 means no ESP
	ahAuth         uint32 // AH: AuthenticationAlgorithm identifier; 0 means no AH
	esn            bool
	icv            uint32 // AdditionalInfo of the authenticating algorithm (0: the suite's default)
	espAlg         esp.Algorithm
	integ, ahInteg esp.Integrity
}

// The suites of issue 11, and an ESP+AH bundle of each ESP family.
var (
	suiteCBC128SHA1   = suiteSpec{name: "cbc128-sha1", enc: ndis.EncAESCBC128, espAuth: ndis.AuthSHA1, espAlg: esp.AESCBC, integ: esp.HMACSHA1_96}
	suiteCBC192SHA256 = suiteSpec{name: "cbc192-sha256", enc: ndis.EncAESCBC192, espAuth: ndis.AuthSHA256, espAlg: esp.AESCBC, integ: esp.HMACSHA256_128}
	suiteCBC256SHA256 = suiteSpec{name: "cbc256-sha256", enc: ndis.EncAESCBC256, espAuth: ndis.AuthSHA256, espAlg: esp.AESCBC, integ: esp.HMACSHA256_128}
	suiteNULLSHA1     = suiteSpec{name: "null-sha1", enc: ndis.EncNone, espAuth: ndis.AuthSHA1, espAlg: esp.NULL, integ: esp.HMACSHA1_96}
	suiteNULLSHA256   = suiteSpec{name: "null-sha256", enc: ndis.EncNone, espAuth: ndis.AuthSHA256, espAlg: esp.NULL, integ: esp.HMACSHA256_128}
	suiteAHSHA1       = suiteSpec{name: "ah-sha1", ahAuth: ndis.AuthSHA1, ahInteg: esp.HMACSHA1_96}
	suiteAHSHA256     = suiteSpec{name: "ah-sha256", ahAuth: ndis.AuthSHA256, ahInteg: esp.HMACSHA256_128}
	suiteAHGMAC128    = suiteSpec{name: "ah-gmac128", ahAuth: ndis.AuthAESGCM128, ahInteg: esp.GMAC128}
	suiteAHGMAC256    = suiteSpec{name: "ah-gmac256", ahAuth: ndis.AuthAESGCM256, ahInteg: esp.GMAC256}
	suiteGCMAH        = suiteSpec{name: "gcm128+ah-sha256", enc: ndis.EncAESGCM128, espAlg: esp.AESGCM, ahAuth: ndis.AuthSHA256, ahInteg: esp.HMACSHA256_128}
	suiteCBCAH        = suiteSpec{name: "cbc128-sha256+ah-sha1", enc: ndis.EncAESCBC128, espAuth: ndis.AuthSHA256, espAlg: esp.AESCBC, integ: esp.HMACSHA256_128, ahAuth: ndis.AuthSHA1, ahInteg: esp.HMACSHA1_96}
	suiteNULLAH       = suiteSpec{name: "null-sha1+ah-gmac192", enc: ndis.EncNone, espAuth: ndis.AuthSHA1, espAlg: esp.NULL, integ: esp.HMACSHA1_96, ahAuth: ndis.AuthAESGCM192, ahInteg: esp.GMAC192}
	allSuites         = []suiteSpec{suiteCBC128SHA1, suiteCBC192SHA256, suiteCBC256SHA256, suiteNULLSHA1, suiteNULLSHA256,
		suiteAHSHA1, suiteAHSHA256, suiteAHGMAC128, suiteAHGMAC256, suiteGCMAH, suiteCBCAH, suiteNULLAH}
)

func (s suiteSpec) withESN() suiteSpec { s.esn, s.name = true, s.name+"-esn"; return s }

// peer is the far end of an SA: the same keys in independent transforms.
type peer struct {
	esp    *esp.Transform
	ah     *ah.Transform
	espSPI uint32
	ahSPI  uint32
	v6     bool
}

// suiteKey is key material of n bytes derived from an SPI and a label.
func suiteKey(spi uint32, label byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = byte(spi*11+uint32(i)*29+uint32(label)*7) ^ 0x5c
	}
	return k
}

// The addresses of the suite tests' SAs.
var (
	suiteDst4 = netip.MustParseAddr("198.51.100.1")
	suiteDst6 = netip.MustParseAddr("2001:db8:1::1")
)

// gcmBytes is the AES key size of an AES-GCM identifier (Enc and Auth bits share values).
func gcmBytes(id uint32) int {
	return map[uint32]int{ndis.EncAESGCM128: 16, ndis.EncAESGCM192: 24, ndis.EncAESGCM256: 32}[id]
}

// suiteBundle is the ADD_SA bundle of a suite (ESP SPI spi, AH SPI spi+0x8000) with its key
// material laid out as sa/params.go documents, and the peer with the same keys.
func suiteBundle(t testing.TB, s suiteSpec, spi uint32, inbound, v6 bool, hi uint32) (*sa.Bundle, peer) {
	t.Helper()
	b := &sa.Bundle{Dst: suiteDst4}
	if v6 {
		b.Flags, b.Dst = ndis.SAIPv6, suiteDst6
	}
	if inbound {
		b.Flags |= ndis.SAInbound
	}
	pr := peer{v6: v6}
	var flags uint32
	if s.esn {
		flags = ndis.SAFlagESN
	}
	add := func(k []byte) uint32 { off := len(b.KeyData); b.KeyData = append(b.KeyData, k...); return uint32(off) }
	if s.enc != 0 {
		pr.espSPI = spi
		e := sa.SecAssoc{Operation: ndis.OpESP, Spi: spi, Flags: flags, SequenceNumberHighOrder: hi}
		p := esp.Params{Alg: s.espAlg, Integrity: s.integ, ESN: s.esn}
		switch {
		case s.espAlg == esp.AESGCM:
			p.KeyMat = suiteKey(spi, 'e', gcmBytes(s.enc)+4)
			e.EncryptionAlgorithm = sa.Algorithm{Identifier: s.enc, KeyLength: uint32(len(p.KeyMat)), KeyOffsetBytes: add(p.KeyMat), AdditionalInfo: s.icv}
		default:
			n := map[uint32]int{ndis.EncAESCBC128: 16, ndis.EncAESCBC192: 24, ndis.EncAESCBC256: 32}[s.enc]
			p.KeyMat = suiteKey(spi, 'e', n)
			p.IntegrityKey = suiteKey(spi, 'i', s.integ.KeyLen())
			e.EncryptionAlgorithm = sa.Algorithm{Identifier: s.enc, KeyLength: uint32(n)}
			if n != 0 {
				e.EncryptionAlgorithm.KeyOffsetBytes = add(p.KeyMat)
			} else {
				p.KeyMat = nil
			}
			e.AuthenticationAlgorithm = sa.Algorithm{Identifier: s.espAuth, KeyLength: uint32(len(p.IntegrityKey)),
				KeyOffsetBytes: add(p.IntegrityKey), AdditionalInfo: s.icv}
		}
		tr, err := esp.NewTransform(p)
		if err != nil {
			t.Fatalf("%s: peer ESP: %v", s.name, err)
		}
		pr.esp = tr
		b.SecAssoc[0] = e
		b.NumExtHdrs = 1
	}
	if s.ahAuth != 0 {
		pr.ahSPI = spi + 0x8000
		key := suiteKey(pr.ahSPI, 'a', s.ahInteg.KeyLen())
		h := sa.SecAssoc{Operation: ndis.OpAH, Spi: pr.ahSPI, Flags: flags, SequenceNumberHighOrder: hi,
			AuthenticationAlgorithm: sa.Algorithm{Identifier: s.ahAuth, KeyLength: uint32(len(key)), KeyOffsetBytes: add(key)}}
		tr, err := ah.NewTransform(ah.Params{Integrity: s.ahInteg, Key: key, ESN: s.esn})
		if err != nil {
			t.Fatalf("%s: peer AH: %v", s.name, err)
		}
		pr.ah = tr
		b.SecAssoc[b.NumExtHdrs] = h
		b.NumExtHdrs++
	}
	return b, pr
}

// addSuite offloads a suite's bundle and returns its handle and peer.
func addSuite(t testing.TB, ctl *sa.Controller, s suiteSpec, spi uint32, inbound, v6 bool, hi uint32) (sa.Handle, peer) {
	t.Helper()
	b, pr := suiteBundle(t, s, spi, inbound, v6, hi)
	if err := ctl.AddSA([]*sa.Bundle{b}, nil); err != nil {
		t.Fatalf("%s: ADD_SA: %v", s.name, err)
	}
	return b.OffloadHandle, pr
}

// ipv6 writes a 40-byte IPv6 header of n total bytes whose next header is nh.
func ipv6(h []byte, n int, nh byte, src, dst string) {
	h[0], h[1], h[2], h[3] = 0x60, 0x0a, 0xbc, 0xde // traffic class and flow label: mutable, AH zeroes them
	binary.BigEndian.PutUint16(h[4:], uint16(n-40))
	h[6], h[7] = nh, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
}

// suiteFrame says where a framed suite packet's headers are.
type suiteFrame struct {
	ahOff, espOff int // 0 when absent
}

// frameFor frames a packet for peer pr as the host does (R-TX-4): IP header (IPv4 or IPv6 to
// the SA's destination), the AH header (PutHeader: SPI, low sequence bits, zeros for IV,
// ICV and padding) when the SA has AH, then the ESP header, IV room, payload, RFC 4303
// padding to the suite's boundary, pad length, next header and ICV room when it has ESP;
// for AH alone the payload follows AH. nh is the payload's protocol (17, or 4/41 for
// tunnel mode). The send OOB names the headers' offsets and the handle.
func frameFor(pr peer, payload []byte, nh byte, seq, ahSeq uint32, h sa.Handle) (*packet.Buffer, suiteFrame) {
	hdr := 20
	if pr.v6 {
		hdr = 40
	}
	var f suiteFrame
	n := hdr
	ahLen := 0
	if pr.ah != nil {
		ahLen = pr.ah.HeaderLen(pr.v6)
		f.ahOff, n = n, n+ahLen
	}
	pad := 0
	if pr.esp != nil {
		f.espOff = n
		pad = pr.esp.PadLen(len(payload))
		n += pr.esp.PayloadOffset() + len(payload) + pad + esp.TrailerLen + pr.esp.ICVLen()
	} else {
		n += len(payload)
	}
	b := packet.NewBuffer(packet.SmallSize)
	fr := b.Append(n)
	first := byte(inet.ProtoESP)
	switch {
	case pr.ah != nil:
		first = inet.ProtoAH
	case pr.esp == nil:
		first = nh
	}
	if pr.v6 {
		ipv6(fr, n, first, "2001:db8::9", suiteDst6.String())
	} else {
		ipv4(fr, n, first, "192.0.2.9", suiteDst4.String())
	}
	if pr.ah != nil {
		ahNH := nh
		if pr.esp != nil {
			ahNH = inet.ProtoESP
		}
		ah.PutHeader(fr[f.ahOff:], ahNH, ahLen, pr.ahSPI, ahSeq)
		b.Tx.AhHeaderOffset = uint8(f.ahOff / 4)
	}
	if pr.esp != nil {
		esp.PutHeader(fr[f.espOff:], pr.espSPI, seq)
		p := f.espOff + pr.esp.PayloadOffset()
		copy(fr[p:], payload)
		esp.AppendTrailer(fr[p+len(payload):p+len(payload)], pad, nh)
		b.Tx.EspHeaderOffset = uint8(f.espOff / 4)
		b.Tx.NextHeader, b.Tx.PadLength = nh, uint8(pad)
	} else {
		copy(fr[hdr+ahLen:], payload)
	}
	b.Tx.OffloadHandle = uint64(h)
	return b, f
}

// seal protects a framed packet as the peer's NIC would: ESP first (IV for AES-GCM/GMAC is
// the sequence number), then AH over the result.
func (pr peer) seal(t testing.TB, frame []byte, f suiteFrame, seqHi, ahSeqHi uint32) {
	t.Helper()
	if pr.esp != nil {
		body := frame[f.espOff : len(frame)-pr.esp.ICVLen()]
		pr.esp.PutIV(body, uint64(seqHi)<<32|uint64(esp.Seq(body)))
		if _, err := pr.esp.Seal(new(esp.Scratch), body, seqHi); err != nil {
			t.Fatalf("peer seal: %v", err)
		}
	}
	if pr.ah != nil {
		if _, err := pr.ah.Insert(new(ah.Scratch), frame, ahSeqHi); err != nil {
			t.Fatalf("peer AH insert: %v", err)
		}
	}
}

// open checks, on a copy, what the NIC sealed: AH verifies over the datagram, then ESP opens
// and its trailer parses. It returns the payload and its next header.
func (pr peer) open(t testing.TB, frame []byte, f suiteFrame, seqHi, ahSeqHi uint32) ([]byte, byte) {
	t.Helper()
	pkt := append([]byte(nil), frame...)
	var nh byte
	rest := pkt
	if pr.ah != nil {
		l, err := pr.ah.Verify(new(ah.Scratch), pkt, ahSeqHi)
		if err != nil {
			t.Fatalf("peer AH verify: %v", err)
		}
		nh, rest = l.NextHeader, pkt[l.Payload:l.End]
	}
	if pr.esp != nil {
		plain, err := pr.esp.Open(new(esp.Scratch), pkt[f.espOff:], seqHi)
		if err != nil {
			t.Fatalf("peer ESP open: %v", err)
		}
		payload, _, n, err := esp.ParseTrailer(plain)
		if err != nil {
			t.Fatalf("peer trailer: %v", err)
		}
		return payload, n
	}
	return rest, nh
}
