package sa

import (
	"fmt"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
)

// This file maps the NDIS algorithm identifiers of one SecAssoc entry, and the key material
// they point at, to the transform that runs it (package esp for ESP, package ah for AH).
// The algorithms have already been admitted by the NIC's capability check (every bit
// advertised and enabled); what fails here is a request that is inconsistent in itself: a
// pairing no RFC defines, a key of the wrong length, a key outside the key material. Every
// failure names the SPI and wraps ErrAlgorithm (NDIS_STATUS_NOT_SUPPORTED), ErrKeyLength or
// ErrMalformed (NDIS_STATUS_INVALID_PARAMETER).
//
//	Operation  EncryptionAlgorithm          AuthenticationAlgorithm     transform
//	ESP        AES_GCM_x  key‖salt          0 or AES_GCM_x, no key      esp.AESGCM      (RFC 4106)
//	ESP        NONE                         AES_GCM_x  key‖salt         esp.AESGMAC     (RFC 4543)
//	ESP        AES_CBC_x  AES key           SHA_1 / SHA_256  HMAC key   esp.AESCBC + HMAC (RFC 3602, 2404, 4868)
//	ESP        NONE                         SHA_1 / SHA_256  HMAC key   esp.NULL + HMAC   (RFC 2410)
//	AH         0 or NONE                    SHA_1 / SHA_256  HMAC key   ah HMAC-SHA1-96 / HMAC-SHA-256-128
//	AH         0 or NONE                    AES_GCM_x  key‖salt         ah AES-GMAC-x   (RFC 4543 §4)
//
// Key lengths (KeyLength, bytes): AES_GCM_128/192/256 20/28/36 (key and 4-byte salt),
// AES_CBC_128/192/256 16/24/32, SHA_1 20, SHA_256 32, NONE 0. The ICV length sits in
// AdditionalInfo of the algorithm that authenticates (see Algorithm).

// gcmKeyBytes maps an AES-GCM identifier (the Enc and Auth bits share values) to its key
// size in bytes; 0 if it is not an AES-GCM identifier.
func gcmKeyBytes(id uint32) int {
	switch id {
	case ndis.EncAESGCM128:
		return 16
	case ndis.EncAESGCM192:
		return 24
	case ndis.EncAESGCM256:
		return 32
	}
	return 0
}

// cbcKeyBytes maps an AES-CBC encryption identifier to its key size; 0 for any other.
func cbcKeyBytes(id uint32) int {
	switch id {
	case ndis.EncAESCBC128:
		return 16
	case ndis.EncAESCBC192:
		return 24
	case ndis.EncAESCBC256:
		return 32
	}
	return 0
}

// hmacOf maps an authentication identifier to its HMAC; IntegrityNone for any other.
func hmacOf(id uint32) esp.Integrity {
	switch id {
	case ndis.AuthSHA1:
		return esp.HMACSHA1_96
	case ndis.AuthSHA256:
		return esp.HMACSHA256_128
	}
	return esp.IntegrityNone
}

// gmacOf maps an AES-GCM authentication identifier to AH's AES-GMAC; IntegrityNone for any
// other.
func gmacOf(id uint32) esp.Integrity {
	switch id {
	case ndis.AuthAESGCM128:
		return esp.GMAC128
	case ndis.AuthAESGCM192:
		return esp.GMAC192
	case ndis.AuthAESGCM256:
		return esp.GMAC256
	}
	return esp.IntegrityNone
}

// keyOf returns the key an algorithm points at, after checking its length against want.
// what names the key in the error ("AES key and salt", "HMAC key", ...).
func keyOf(b *Bundle, s *SecAssoc, a Algorithm, want int, what string) ([]byte, error) {
	if int(a.KeyLength) != want {
		return nil, fmt.Errorf("%w: SPI 0x%08x: KeyLength %d, want %d (%s)", ErrKeyLength, s.Spi, a.KeyLength, want, what)
	}
	end := uint64(a.KeyOffsetBytes) + uint64(a.KeyLength)
	if end > uint64(len(b.KeyData)) {
		return nil, fmt.Errorf("%w: SPI 0x%08x: key at offset %d length %d runs past the %d bytes of key material",
			ErrKeyLength, s.Spi, a.KeyOffsetBytes, a.KeyLength, len(b.KeyData))
	}
	return b.KeyData[a.KeyOffsetBytes:end], nil
}

// icvOf reads the ICV length an algorithm's AdditionalInfo asks for, where the suite has
// exactly one (the HMACs, AES-GMAC): 0 means that one, anything else must equal it.
func icvOf(s *SecAssoc, a Algorithm, alg esp.Integrity) (int, error) {
	want := alg.ICVLen()
	if a.AdditionalInfo != 0 && int(a.AdditionalInfo) != want {
		return 0, fmt.Errorf("%w: SPI 0x%08x: ICV length %d (AdditionalInfo), %v has %d",
			ErrMalformed, s.Spi, a.AdditionalInfo, alg, want)
	}
	return want, nil
}

// unsupported is the refusal of an identifier pair that names no transform.
func unsupported(s *SecAssoc, why string) error {
	return fmt.Errorf("%w: SPI 0x%08x: encryption 0x%x with authentication 0x%x%s",
		ErrAlgorithm, s.Spi, s.EncryptionAlgorithm.Identifier, s.AuthenticationAlgorithm.Identifier, why)
}

// espParams turns an ESP SecAssoc into esp.Params (see the table above).
func espParams(b *Bundle, s *SecAssoc) (esp.Params, error) {
	enc, auth := s.EncryptionAlgorithm, s.AuthenticationAlgorithm
	p := esp.Params{ESN: s.Flags&ndis.SAFlagESN != 0}
	var err error
	switch {
	case gcmKeyBytes(enc.Identifier) != 0:
		if auth.Identifier != 0 && auth.Identifier != enc.Identifier {
			return p, fmt.Errorf("%w: SPI 0x%08x: AES-GCM encryption 0x%x paired with authentication 0x%x (want 0 or the same AES-GCM size)",
				ErrMalformed, s.Spi, enc.Identifier, auth.Identifier)
		}
		if auth.KeyLength != 0 {
			return p, fmt.Errorf("%w: SPI 0x%08x: AES-GCM authentication takes no separate key, got %d bytes",
				ErrKeyLength, s.Spi, auth.KeyLength)
		}
		p.Alg, p.ICVLen = esp.AESGCM, int(enc.AdditionalInfo)
		n := gcmKeyBytes(enc.Identifier)
		p.KeyMat, err = keyOf(b, s, enc, n+esp.SaltLen, fmt.Sprintf("%d-byte AES key and %d-byte salt", n, esp.SaltLen))
		return p, err
	case enc.Identifier == ndis.EncNone && gcmKeyBytes(auth.Identifier) != 0:
		if enc.KeyLength != 0 {
			return p, fmt.Errorf("%w: SPI 0x%08x: encryption NONE takes no key, got %d bytes", ErrKeyLength, s.Spi, enc.KeyLength)
		}
		p.Alg, p.ICVLen = esp.AESGMAC, int(auth.AdditionalInfo)
		n := gcmKeyBytes(auth.Identifier)
		p.KeyMat, err = keyOf(b, s, auth, n+esp.SaltLen, fmt.Sprintf("%d-byte AES key and %d-byte salt", n, esp.SaltLen))
		return p, err
	case (cbcKeyBytes(enc.Identifier) != 0 || enc.Identifier == ndis.EncNone) && hmacOf(auth.Identifier) != esp.IntegrityNone:
		p.Integrity = hmacOf(auth.Identifier)
		if p.ICVLen, err = icvOf(s, auth, p.Integrity); err != nil {
			return p, err
		}
		if enc.AdditionalInfo != 0 {
			return p, fmt.Errorf("%w: SPI 0x%08x: AdditionalInfo %d on the encryption algorithm: the ICV length goes on %v's",
				ErrMalformed, s.Spi, enc.AdditionalInfo, p.Integrity)
		}
		p.IntegrityKey, err = keyOf(b, s, auth, p.Integrity.KeyLen(), p.Integrity.String()+" key")
		if err != nil {
			return p, err
		}
		if enc.Identifier == ndis.EncNone {
			if enc.KeyLength != 0 {
				return p, fmt.Errorf("%w: SPI 0x%08x: encryption NONE takes no key, got %d bytes", ErrKeyLength, s.Spi, enc.KeyLength)
			}
			p.Alg = esp.NULL
			return p, nil
		}
		n := cbcKeyBytes(enc.Identifier)
		p.Alg = esp.AESCBC
		p.KeyMat, err = keyOf(b, s, enc, n, fmt.Sprintf("%d-byte AES key", n))
		return p, err
	case cbcKeyBytes(enc.Identifier) != 0:
		return p, unsupported(s, " (AES-CBC needs HMAC-SHA1-96 or HMAC-SHA-256-128: SHA_1 or SHA_256)")
	case enc.Identifier == ndis.EncNone && auth.Identifier == 0:
		return p, unsupported(s, " (ESP with neither encryption nor integrity)")
	}
	return p, unsupported(s, "")
}

// ahParams turns an AH SecAssoc into ah.Params (see the table above).
func ahParams(b *Bundle, s *SecAssoc) (ah.Params, error) {
	enc, auth := s.EncryptionAlgorithm, s.AuthenticationAlgorithm
	p := ah.Params{ESN: s.Flags&ndis.SAFlagESN != 0}
	if (enc.Identifier != 0 && enc.Identifier != ndis.EncNone) || enc.KeyLength != 0 || enc.AdditionalInfo != 0 {
		return p, unsupported(s, " (AH does not encrypt: want encryption 0 or NONE, without key)")
	}
	var what string
	switch {
	case hmacOf(auth.Identifier) != esp.IntegrityNone:
		p.Integrity, what = hmacOf(auth.Identifier), hmacOf(auth.Identifier).String()+" key"
	case gmacOf(auth.Identifier) != esp.IntegrityNone:
		p.Integrity = gmacOf(auth.Identifier)
		what = fmt.Sprintf("%d-byte AES key and %d-byte salt", p.Integrity.KeyLen()-esp.SaltLen, esp.SaltLen)
	default:
		return p, unsupported(s, " (AH takes SHA_1, SHA_256 or AES_GCM_x, which is AES-GMAC)")
	}
	if _, err := icvOf(s, auth, p.Integrity); err != nil {
		return p, err
	}
	var err error
	p.Key, err = keyOf(b, s, auth, p.Integrity.KeyLen(), what)
	return p, err
}
