package host

import (
	"fmt"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

// This file is the host's side of issue 11's suites: which SAConfig describes which suite,
// how it is checked, and how it becomes an ADD_SA bundle.
//
//	suite                     Proto  Alg           Key            Salt  Integrity          AuthKey
//	ESP AES-GCM (RFC 4106)    ESP    esp.AESGCM    AES key        yes   -                  -
//	ESP AES-GMAC (RFC 4543)   ESP    esp.AESGMAC   AES key        yes   -                  -
//	ESP AES-CBC + HMAC        ESP    esp.AESCBC    AES key        -     HMACSHA1_96 or     HMAC key
//	ESP NULL + HMAC           ESP    esp.NULL      -              -     HMACSHA256_128     HMAC key
//	AH HMAC                   AH     0             -              -     HMACSHA1_96 or     HMAC key
//	                                                                    HMACSHA256_128
//	AH AES-GMAC (RFC 4543 §4) AH     0             AES key        yes   GMAC128/192/256    -
//
// An ESP SA with AH set is an ESP+AH bundle (NDIS NumExtHdrs 2, ESP first, then AH over
// it): one ADD_SA bundle, one handle, two SPIs, two sequence counters, two ESN high halves
// and, inbound, two anti-replay windows. The AH part takes its SPI, Integrity, keys, ESN,
// StartSeq and ReplayWindow from its own SAConfig, everything else (addresses, mode,
// selector) from the ESP SA.

// Proto is the IPsec protocol of an SA.
type Proto uint8

// Protocols. ESP is the zero value, so every SAConfig written before AH is ESP.
const (
	ESP Proto = iota
	AH
)

func (p Proto) String() string {
	if p == AH {
		return "ah"
	}
	return "esp"
}

// op is the NDIS operation of an SA's first part.
func (c *SAConfig) op() ndis.Operation {
	if c.Proto == AH {
		return ndis.OpAH
	}
	return ndis.OpESP
}

// hasESP reports whether the SA has an ESP part.
func (c *SAConfig) hasESP() bool { return c.Proto != AH }

// ahPart is the SA's AH part: the SA itself for AH alone, its AH for an ESP+AH bundle, nil
// for ESP alone.
func (c *SAConfig) ahPart() *SAConfig {
	if c.Proto == AH {
		return c
	}
	return c.AH
}

// ahLen is the AH header's length for the part's algorithm and IP version (c is an AH part).
func (c *SAConfig) ahLen(v6 bool) int {
	return ah.HeaderLen(c.Integrity.IVLen(), c.Integrity.ICVLen(), v6)
}

// Suite names the SA's algorithms: "ESP AES-CBC-128 + HMAC-SHA-256-128", "AH HMAC-SHA1-96",
// "ESP AES-GCM-128 + AH HMAC-SHA1-96", …
func (c *SAConfig) Suite() string {
	var s string
	switch {
	case c.Proto == AH:
		s = "AH " + c.Integrity.String()
	case c.Alg == esp.NULL:
		s = "ESP NULL + " + c.Integrity.String()
	case c.Alg == esp.AESCBC:
		s = fmt.Sprintf("ESP AES-CBC-%d + %v", len(c.Key)*8, c.Integrity)
	default:
		s = fmt.Sprintf("ESP %v-%d", c.Alg, len(c.Key)*8)
	}
	if c.Proto != AH && c.AH != nil {
		s += " + " + c.AH.Suite()
	}
	return s
}

// normalizeSuite checks the suite fields and fills the ICV length (see the table above).
// inBundle says c is the AH part of an ESP+AH bundle.
func (c *SAConfig) normalizeSuite(inBundle bool) error {
	keyOK := len(c.Key) == 16 || len(c.Key) == 24 || len(c.Key) == 32
	icv := 0
	switch {
	case c.Proto == AH:
		switch c.Integrity {
		case esp.HMACSHA1_96, esp.HMACSHA256_128:
			if len(c.AuthKey) != c.Integrity.KeyLen() {
				return fmt.Errorf("%w: SPI 0x%08x: %v key of %d bytes, want %d", ErrConfig, c.SPI, c.Integrity, len(c.AuthKey), c.Integrity.KeyLen())
			}
		case esp.GMAC128, esp.GMAC192, esp.GMAC256:
			if len(c.Key) != c.Integrity.KeyLen()-esp.SaltLen {
				return fmt.Errorf("%w: SPI 0x%08x: %v key of %d bytes, want %d", ErrConfig, c.SPI, c.Integrity, len(c.Key), c.Integrity.KeyLen()-esp.SaltLen)
			}
		default:
			return fmt.Errorf("%w: SPI 0x%08x: AH integrity %v", ErrConfig, c.SPI, c.Integrity)
		}
		if c.Alg != 0 {
			return fmt.Errorf("%w: SPI 0x%08x: AH does not encrypt (algorithm %v)", ErrConfig, c.SPI, c.Alg)
		}
		if c.NATT {
			return fmt.Errorf("%w: SPI 0x%08x: AH cannot be UDP-encapsulated", ErrConfig, c.SPI)
		}
		if c.AH != nil {
			return fmt.Errorf("%w: SPI 0x%08x: an AH SA cannot carry another AH (the bundle is ESP then AH)", ErrConfig, c.SPI)
		}
		icv = c.Integrity.ICVLen()
	case inBundle:
		return fmt.Errorf("%w: SPI 0x%08x: the AH part of a bundle must be Proto AH", ErrConfig, c.SPI)
	case c.Alg == esp.AESGCM || c.Alg == esp.AESGMAC:
		if !keyOK {
			return fmt.Errorf("%w: SPI 0x%08x: key of %d bytes, want 16, 24 or 32", ErrConfig, c.SPI, len(c.Key))
		}
		if c.Integrity != esp.IntegrityNone {
			return fmt.Errorf("%w: SPI 0x%08x: %v authenticates by itself, integrity %v", ErrConfig, c.SPI, c.Alg, c.Integrity)
		}
		icv = c.ICVLen
		if icv == 0 {
			icv = 16
		}
	case c.Alg == esp.AESCBC || c.Alg == esp.NULL:
		if c.Integrity != esp.HMACSHA1_96 && c.Integrity != esp.HMACSHA256_128 {
			return fmt.Errorf("%w: SPI 0x%08x: %v needs HMAC-SHA1-96 or HMAC-SHA-256-128, integrity %v", ErrConfig, c.SPI, c.Alg, c.Integrity)
		}
		if len(c.AuthKey) != c.Integrity.KeyLen() {
			return fmt.Errorf("%w: SPI 0x%08x: %v key of %d bytes, want %d", ErrConfig, c.SPI, c.Integrity, len(c.AuthKey), c.Integrity.KeyLen())
		}
		if c.Alg == esp.AESCBC && !keyOK {
			return fmt.Errorf("%w: SPI 0x%08x: key of %d bytes, want 16, 24 or 32", ErrConfig, c.SPI, len(c.Key))
		}
		if c.Alg == esp.NULL && len(c.Key) != 0 {
			return fmt.Errorf("%w: SPI 0x%08x: NULL encryption takes no key, got %d bytes", ErrConfig, c.SPI, len(c.Key))
		}
		icv = c.Integrity.ICVLen()
	default:
		return fmt.Errorf("%w: SPI 0x%08x: algorithm %v", ErrConfig, c.SPI, c.Alg)
	}
	if c.ICVLen != 0 && c.ICVLen != icv && c.Alg != esp.AESGCM {
		return fmt.Errorf("%w: SPI 0x%08x: ICV length %d, %s has %d", ErrConfig, c.SPI, c.ICVLen, c.Suite(), icv)
	}
	c.ICVLen = icv
	if c.Proto == ESP && c.AH != nil {
		p := *c.AH // the caller's AH config is not changed
		p.Src, p.Dst, p.Mode, p.Selector, p.NATT = c.Src, c.Dst, c.Mode, c.Selector, false
		if p.StartSeq == 0 {
			p.StartSeq = 1
		}
		if p.SPI == 0 {
			return fmt.Errorf("%w: SPI 0x%08x: AH part with SPI 0", ErrConfig, c.SPI)
		}
		if p.Proto != AH {
			return fmt.Errorf("%w: SPI 0x%08x: the AH part (SPI 0x%08x) must be Proto AH", ErrConfig, c.SPI, p.SPI)
		}
		if err := p.normalizeSuite(true); err != nil {
			return err
		}
		if !p.ESN && p.StartSeq > 1<<32-1 {
			return fmt.Errorf("%w: SPI 0x%08x: start sequence %d needs ESN", ErrConfig, p.SPI, p.StartSeq)
		}
		if c.NATT {
			return fmt.Errorf("%w: SPI 0x%08x: an ESP+AH bundle cannot be UDP-encapsulated", ErrConfig, c.SPI)
		}
		c.AH = &p
	}
	return nil
}

// bundleOf is the ADD_SA bundle for an SA, its key material laid out as sa/params.go
// documents: key‖salt on the encryption algorithm for AES-GCM, on the authentication
// algorithm (encryption NONE) for AES-GMAC; for AES-CBC the AES key on the encryption
// algorithm and the HMAC key on the authentication one, NULL the HMAC key alone; for AH
// the HMAC key (or AES-GMAC key‖salt) on the authentication algorithm. An ESP+AH bundle
// has the AH part second. Call it after normalize.
func bundleOf(c *SAConfig, inbound bool) sa.Bundle {
	b := sa.Bundle{Src: c.Src, Dst: c.Dst, NumExtHdrs: 1}
	b.SecAssoc[0] = c.secAssoc(&b, inbound)
	if h := c.AH; c.Proto == ESP && h != nil {
		b.SecAssoc[1] = h.secAssoc(&b, inbound)
		b.NumExtHdrs = 2
	}
	if c.Src.Is6() {
		b.Flags |= ndis.SAIPv6
	}
	if inbound {
		b.Flags |= ndis.SAInbound
	}
	if c.NATT {
		b.UdpEspEncapsulation = ndis.UDPEspTransport
		if c.Mode == Tunnel {
			b.UdpEspEncapsulation = ndis.UDPEspTunnel
		}
		b.EncapSrcPort, b.EncapDstPort = c.SPort, c.DPort
	}
	return b
}

// secAssoc is one part's SecAssoc; its keys are appended to b.KeyData.
func (c *SAConfig) secAssoc(b *sa.Bundle, inbound bool) sa.SecAssoc {
	add := func(k ...[]byte) (off, n uint32) {
		off = uint32(len(b.KeyData))
		for _, x := range k {
			b.KeyData = append(b.KeyData, x...)
		}
		return off, uint32(len(b.KeyData)) - off
	}
	gcm := map[int]uint32{16: ndis.EncAESGCM128, 24: ndis.EncAESGCM192, 32: ndis.EncAESGCM256}
	hmac := map[esp.Integrity]uint32{esp.HMACSHA1_96: ndis.AuthSHA1, esp.HMACSHA256_128: ndis.AuthSHA256}
	s := sa.SecAssoc{Operation: c.op(), Spi: c.SPI, SequenceNumberHighOrder: c.seqHi(inbound)}
	if c.ESN {
		s.Flags = ndis.SAFlagESN
	}
	switch {
	case c.Proto == AH && hmac[c.Integrity] != 0:
		off, n := add(c.AuthKey)
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: hmac[c.Integrity], KeyLength: n, KeyOffsetBytes: off}
	case c.Proto == AH: // AES-GMAC
		off, n := add(c.Key, c.Salt[:])
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: gcm[len(c.Key)], KeyLength: n, KeyOffsetBytes: off}
	case c.Alg == esp.AESGCM:
		off, n := add(c.Key, c.Salt[:])
		id := gcm[len(c.Key)]
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: id, KeyLength: n, KeyOffsetBytes: off, AdditionalInfo: uint32(c.ICVLen)}
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: id}
	case c.Alg == esp.AESGMAC:
		off, n := add(c.Key, c.Salt[:])
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: gcm[len(c.Key)], KeyLength: n, KeyOffsetBytes: off, AdditionalInfo: uint32(c.ICVLen)}
	default: // AES-CBC or NULL with an HMAC
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
		if c.Alg == esp.AESCBC {
			off, n := add(c.Key)
			id := map[int]uint32{16: ndis.EncAESCBC128, 24: ndis.EncAESCBC192, 32: ndis.EncAESCBC256}[len(c.Key)]
			s.EncryptionAlgorithm = sa.Algorithm{Identifier: id, KeyLength: n, KeyOffsetBytes: off}
		}
		off, n := add(c.AuthKey)
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: hmac[c.Integrity], KeyLength: n, KeyOffsetBytes: off,
			AdditionalInfo: uint32(c.ICVLen)}
	}
	return s
}
