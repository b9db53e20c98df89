package esp

import "strconv"

// Algorithm names the ESP transform of an SA. The values are this package's own, not NDIS
// algorithm bits: the SA layer translates, so that this package stays free of NDIS.
type Algorithm uint8

// The transforms SPEC §2 requires every NIC to advertise. Value 3 is left unassigned: it was
// the first value NewTransform refused before AESCBC and NULL existed, and callers and tests
// pin it as unknown.
const (
	// AESGCM is AES-GCM with an 8-byte explicit IV (RFC 4106): the payload is encrypted and the
	// ICV is the GCM tag over SPI ‖ sequence number and the ciphertext.
	AESGCM Algorithm = 1
	// AESGMAC is AES-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC): the payload travels in clear and
	// the ICV is the GCM tag of an empty plaintext whose AAD is the whole packet.
	AESGMAC Algorithm = 2
	// AESCBC is AES-CBC with a 16-byte explicit IV (RFC 3602), paired with a separate
	// integrity algorithm (Params.Integrity: HMAC-SHA1-96 or HMAC-SHA-256-128), encrypt then
	// MAC: the ICV is the HMAC over SPI ‖ sequence number ‖ IV ‖ ciphertext (RFC 4303 §3.3.2).
	AESCBC Algorithm = 4
	// NULL is ESP without encryption (RFC 2410): no IV, the payload in clear, and the ICV an
	// HMAC (Params.Integrity) over SPI ‖ sequence number ‖ payload ‖ trailer.
	NULL Algorithm = 5
)

// String gives the RFC name, so logs and errors read the way the RFCs and NDIS docs do.
func (a Algorithm) String() string {
	switch a {
	case AESGCM:
		return "AES-GCM"
	case AESGMAC:
		return "AES-GMAC"
	case AESCBC:
		return "AES-CBC"
	case NULL:
		return "NULL"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// IVLen is the explicit IV this algorithm carries after the ESP header: 8 for AES-GCM and
// AES-GMAC (RFC 4106 §3.1, RFC 4543 §3.1), 16 for AES-CBC (RFC 3602 §3), 0 for NULL
// (RFC 2410 §2), and 0 for an unknown value. Framing code that serves every suite uses this
// (or Transform.IVLen) instead of the constant IVLen, which is the AES-GCM value.
func (a Algorithm) IVLen() int {
	switch a {
	case AESGCM, AESGMAC:
		return IVLen
	case AESCBC:
		return CBCIVLen
	}
	return 0
}

// Encrypts reports whether the algorithm encrypts the payload (AES-GCM, AES-CBC), so that
// Seal and Open write it in place; AES-GMAC and NULL only authenticate it.
func (a Algorithm) Encrypts() bool { return a == AESGCM || a == AESCBC }

// PadAlign is the multiple that payload ‖ padding ‖ pad length ‖ next header must reach
// (RFC 4303 §2.4): the cipher's block size for AES-CBC (16, RFC 3602 §2.4), and 4 for the
// stream and null suites, whose only constraint is that the trailer end on a 4-byte boundary.
func (a Algorithm) PadAlign() int {
	if a == AESCBC {
		return CBCBlockSize
	}
	return 4
}

// PadLen is the smallest padding that brings payloadLen bytes plus the two trailer bytes to a
// multiple of PadAlign. For AESGCM and AESGMAC it equals the package function PadLen.
func (a Algorithm) PadLen(payloadLen int) int {
	n := a.PadAlign()
	return (n - (payloadLen+TrailerLen)%n) % n
}

// Sizes of the ESP fields (RFC 4303 §2, RFC 4106 §3). Callers frame packets with them, so
// they are exported rather than repeated as magic numbers across packages. HeaderLen,
// MaxICVLen and TrailerLen hold for every suite; IVLen, PayloadOffset, SaltLen and NonceLen
// are the AES-GCM/GMAC values (use Algorithm.IVLen or Transform.PayloadOffset for a suite
// in general).
const (
	// HeaderLen is SPI (4) plus the low 32 bits of the sequence number (4).
	HeaderLen = 8
	// IVLen is the explicit IV that RFC 4106 and RFC 4543 carry after the header.
	IVLen = 8
	// PayloadOffset is where the (encrypted) payload starts: header plus IV.
	PayloadOffset = HeaderLen + IVLen
	// SaltLen is the part of the key material that is not AES key but the nonce prefix.
	SaltLen = 4
	// MaxICVLen is the largest ICV and therefore the tailroom Seal needs after the trailer.
	MaxICVLen = 16
	// TrailerLen is pad length (1) plus next header (1); the padding itself is variable.
	TrailerLen = 2
	// NonceLen is salt ‖ IV, the 96-bit GCM nonce of RFC 4106 §4.
	NonceLen = SaltLen + IVLen
	// CBCIVLen is the AES-CBC IV: one cipher block (RFC 3602 §3).
	CBCIVLen = 16
	// CBCBlockSize is the AES block, to which an AES-CBC payload and trailer are padded.
	CBCBlockSize = 16
)
