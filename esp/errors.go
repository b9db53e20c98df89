package esp

import "errors"

// Errors returned by this package. NewTransform wraps them with %w and a sentence saying what
// was wrong; Seal, Open and ParseTrailer return them bare, because a per-packet error must not
// allocate (a flood of bad packets must not turn into a flood of garbage).
var (
	// ErrAlgorithm means Params.Alg is not an Algorithm this package has.
	ErrAlgorithm = errors.New("esp: unknown algorithm")
	// ErrImpl means Params.Impl, or the name given to ParseImpl, is not an Impl this package
	// has.
	ErrImpl = errors.New("esp: unknown implementation")
	// ErrKeyLength means the key material is not 16, 24 or 32 bytes of AES key plus 4 of salt
	// (AES-GCM, AES-GMAC), 16, 24 or 32 bytes (AES-CBC), empty (NULL), or an integrity key
	// of the algorithm's length.
	ErrKeyLength = errors.New("esp: bad key material length")
	// ErrICVLength means the ICV length is not one the RFC allows for the algorithm.
	ErrICVLength = errors.New("esp: bad ICV length")
	// ErrShort means the packet (or trailer) is shorter than its fixed fields.
	ErrShort = errors.New("esp: packet too short")
	// ErrTailroom means cap(pkt) leaves less than MaxICVLen bytes after len(pkt) for Seal.
	ErrTailroom = errors.New("esp: no tailroom for the ICV")
	// ErrAuth means the ICV did not verify, or, for AES-CBC and NULL, that it did but the
	// padding is malformed (deliberately the same error); the packet was left exactly as it
	// came in.
	ErrAuth = errors.New("esp: ICV mismatch")
	// ErrPadding means the padding is not 1, 2, 3, ... (RFC 4303 §2.4) or the pad length is
	// larger than the bytes in front of it.
	ErrPadding = errors.New("esp: bad trailer padding")
	// ErrIntegrity means Params.Integrity does not fit Params.Alg: AES-CBC and NULL need
	// HMACSHA1_96 or HMACSHA256_128, AES-GCM and AES-GMAC take none; or, for NewAuth, the
	// value is not an integrity algorithm.
	ErrIntegrity = errors.New("esp: bad integrity algorithm")
	// ErrBlockAlign means an AES-CBC payload and trailer (the ciphertext) are not a whole
	// number of 16-byte blocks: on Seal the framing is wrong, on Open the lengths do not add
	// up (CRYPTO_INVALID_PACKET_SYNTAX).
	ErrBlockAlign = errors.New("esp: AES-CBC ciphertext is not a whole number of blocks")
	// ErrWiped means Seal or Open ran on a transform after Wipe (R-SA-5: no packet is
	// processed with an SA after DELETE_SA).
	ErrWiped = errors.New("esp: transform used after Wipe")
)
