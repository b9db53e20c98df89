package esp

// Scratch is one goroutine's working memory for Seal and Open: the nonce, the ESN AAD, the
// GMAC tag, and a buffer that holds a packet's ciphertext while it is decrypted (or, on the
// ICV-8 path, the keystream and the re-sealed packet). The portable implementation adds its
// counter block and a chunk of keystream. The zero value is ready to use. A Scratch must
// never be used by two goroutines at once; give each lane its own.
//
// Keep it on the heap, inside a long-lived struct (one per lane). Its byte arrays reach
// crypto/cipher through the cipher.AEAD and cipher.Block interfaces, so the compiler cannot
// prove they stay on the stack: a Scratch declared as a local variable escapes and costs one
// allocation per packet, which is exactly what it exists to avoid.
//
// buf grows to the largest ciphertext seen (plus MaxICVLen) and is then reused, so once a
// lane has seen its largest packet it never allocates again. After a call returns, buf holds
// ciphertext and tags only, never plaintext or keystream, and ks is zero.
type Scratch struct {
	nonce [NonceLen]byte  // salt ‖ IV
	aad   [12]byte        // SPI ‖ seq-high ‖ seq-low, the ESN form (RFC 4106 §5)
	tag   [MaxICVLen]byte // GMAC tag, or the portable core's tag, being computed
	icv   [MaxICVLen]byte // GMAC+ESN open: the received ICV, saved while the shift covers it
	ctr   [16]byte        // portable: the counter block nonce ‖ counter
	ks    [ksLen]byte     // portable: keystream for up to ksLen bytes, zero between calls
	buf   []byte          // ciphertext copy (restore on ErrAuth) or ICV-8 keystream/re-seal
}

// ksLen is how much keystream the portable core makes before XORing it in: enough blocks to
// amortise the XOR call, small enough to stay in the first-level cache with the packet.
const ksLen = 8 * 16

// grow returns s.buf resized to n bytes, reallocating only when n exceeds its capacity.
func (s *Scratch) grow(n int) []byte {
	if cap(s.buf) < n {
		// Round up so that packets growing a few bytes at a time do not reallocate each time.
		s.buf = make([]byte, n, (n+MaxICVLen+255)&^255)
	}
	return s.buf[:n]
}
