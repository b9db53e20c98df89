package esp

import "strconv"

// Integrity names an SA's integrity algorithm where the cipher does not authenticate by
// itself: the HMACs that AES-CBC and NULL encryption pair with in ESP, and every algorithm AH
// can carry. Like Algorithm, the values are this package's own; the SA layer translates NDIS
// authentication bits (SHA_1 0x02, SHA_256 0x04, AES_GCM_128/192/256 0x08/0x10/0x20).
type Integrity uint8

const (
	// IntegrityNone is the zero value: the suite authenticates by itself (AES-GCM and AES-GMAC
	// in ESP) and takes no separate integrity algorithm.
	IntegrityNone Integrity = 0
	// HMACSHA1_96 is HMAC-SHA-1 truncated to 96 bits (RFC 2404): a 20-byte key, a 12-byte ICV.
	HMACSHA1_96 Integrity = 1
	// HMACSHA256_128 is HMAC-SHA-256 truncated to 128 bits (RFC 4868): a 32-byte key, a
	// 16-byte ICV.
	HMACSHA256_128 Integrity = 2
	// GMAC128 is AES-GMAC with a 128-bit key (RFC 4543), as AH uses it: key material is the
	// 16-byte key and a 4-byte salt, an 8-byte IV travels in the AH header and the ICV is the
	// 16-byte GMAC tag. In ESP the same algorithm is the Algorithm AESGMAC.
	GMAC128 Integrity = 3
	// GMAC192 is GMAC128 with a 192-bit key (24-byte key plus salt).
	GMAC192 Integrity = 4
	// GMAC256 is GMAC128 with a 256-bit key (32-byte key plus salt).
	GMAC256 Integrity = 5
)

// String gives the RFC name.
func (i Integrity) String() string {
	switch i {
	case IntegrityNone:
		return "none"
	case HMACSHA1_96:
		return "HMAC-SHA1-96"
	case HMACSHA256_128:
		return "HMAC-SHA-256-128"
	case GMAC128:
		return "AES-GMAC-128"
	case GMAC192:
		return "AES-GMAC-192"
	case GMAC256:
		return "AES-GMAC-256"
	}
	return "Integrity(" + strconv.Itoa(int(i)) + ")"
}

// ICVLen is the ICV the algorithm puts on the wire: 12 for HMAC-SHA1-96 (RFC 2404 §2), 16 for
// HMAC-SHA-256-128 (RFC 4868 §2.3) and for AES-GMAC (RFC 4543 §3.4); 0 for IntegrityNone and
// unknown values.
func (i Integrity) ICVLen() int {
	switch i {
	case HMACSHA1_96:
		return 12
	case HMACSHA256_128, GMAC128, GMAC192, GMAC256:
		return 16
	}
	return 0
}

// KeyLen is the key material the algorithm takes: 20 bytes for HMAC-SHA1-96 (RFC 2404 §3),
// 32 for HMAC-SHA-256-128 (RFC 4868 §2.1.1), and the AES key plus the 4-byte salt for
// AES-GMAC (RFC 4543 §3.2): 20, 28 or 36. 0 for IntegrityNone and unknown values.
func (i Integrity) KeyLen() int {
	switch i {
	case HMACSHA1_96:
		return 20
	case HMACSHA256_128:
		return 32
	case GMAC128:
		return 16 + SaltLen
	case GMAC192:
		return 24 + SaltLen
	case GMAC256:
		return 32 + SaltLen
	}
	return 0
}

// IVLen is the explicit IV the algorithm carries in an AH header: 8 for AES-GMAC (RFC 4543
// §4), 0 for the HMACs.
func (i Integrity) IVLen() int {
	if i.isGMAC() {
		return IVLen
	}
	return 0
}

func (i Integrity) isHMAC() bool { return i == HMACSHA1_96 || i == HMACSHA256_128 }
func (i Integrity) isGMAC() bool { return i == GMAC128 || i == GMAC192 || i == GMAC256 }
