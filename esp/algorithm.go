package esp

import "strconv"

// Algorithm names the ESP transform of an SA. The values are this package's own, not NDIS
// algorithm bits: the SA layer translates, so that this package stays free of NDIS.
type Algorithm uint8

// The transforms SPEC §2 requires every NIC to advertise.
const (
	// AESGCM is AES-GCM with an 8-byte explicit IV (RFC 4106): the payload is encrypted and the
	// ICV is the GCM tag over SPI ‖ sequence number and the ciphertext.
	AESGCM Algorithm = 1
	// AESGMAC is AES-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC): the payload travels in clear and
	// the ICV is the GCM tag of an empty plaintext whose AAD is the whole packet.
	AESGMAC Algorithm = 2
)

// String gives the RFC name, so logs and errors read the way the RFCs and NDIS docs do.
func (a Algorithm) String() string {
	switch a {
	case AESGCM:
		return "AES-GCM"
	case AESGMAC:
		return "AES-GMAC"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// Sizes of the ESP fields (RFC 4303 §2, RFC 4106 §3). Callers frame packets with them, so
// they are exported rather than repeated as magic numbers across packages.
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
)
