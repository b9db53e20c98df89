package vgcm

// CBCKey is an AES key expanded for AES-CBC (NIST SP 800-38A §6.2): the cipher's round keys,
// and those of FIPS-197's equivalent inverse cipher (§5.3.5), which AESDEC takes. It is
// read-only after NewCBCKey, so one CBCKey may serve any number of goroutines at once.
//
// Decryption is the half of CBC that parallelizes: each plaintext block is one block
// decryption XORed with the ciphertext block in front of it, so the assembly (gen/cbc.go)
// runs eight blocks through the rounds side by side, where crypto/cipher's CBC decrypter
// on amd64 takes one block at a time and waits for every round. Encryption chains each
// block through the cipher, so it too goes a block at a time; the assembly keeps every
// round key in a register and the chain in another, where crypto/cipher calls its block
// function per block (which loads the round keys again) and XORs through memory: on the
// machine of this package's benchmarks 1408 bytes took about half of crypto/cipher's
// time (BenchmarkCBCEncrypt).
type CBCKey struct {
	ek [15 * 16]byte // round keys 0..nr of the cipher
	dk [15 * 16]byte // round keys 0..nr of the equivalent inverse cipher
	nr int
}

// NewCBCKey expands an AES-128, AES-192 or AES-256 key for CBC. It fails where
// Supported is false: the package's assembly runs only where all of its features are,
// although this part needs AES-NI alone. Like NewKey it uses no key-dependent table or
// branch (SubWord is AESKEYGENASSIST, InvMixColumns is AESIMC).
func NewCBCKey(key []byte) (*CBCKey, error) {
	if !Supported() {
		return nil, ErrUnsupported
	}
	nr, err := roundsFor(key)
	if err != nil {
		return nil, err
	}
	enc := &Key{nr: nr}
	enc.expand(key)
	c := &CBCKey{nr: nr}
	// dw[0] = w[Nr], dw[Nr] = w[0], dw[i] = InvMixColumns(w[Nr-i]) for the rounds between.
	copy(c.dk[:16], enc.rk[16*nr:16*nr+16])
	for i := 1; i < nr; i++ {
		invMixColumns(&c.dk[16*i], &enc.rk[16*(nr-i)])
	}
	copy(c.dk[16*nr:16*nr+16], enc.rk[:16])
	copy(c.ek[:16*(nr+1)], enc.rk[:16*(nr+1)])
	enc.Wipe()
	return c, nil
}

// Decrypt decrypts src, a whole number of 16-byte blocks, into dst under AES-CBC with the
// 16-byte iv: P_i = D_K(C_i) ⊕ C_{i-1}, C_0 = iv. dst may begin exactly where src begins
// (in place); any other overlap panics, as do a src that is not whole blocks, a dst shorter
// than src and an iv that is not 16 bytes. iv is read, never written. It does not allocate.
func (c *CBCKey) Decrypt(dst, src, iv []byte) {
	if c.blocks(dst, src, iv) > 0 {
		cbcDecAsm(&c.dk[0], c.nr, &iv[0], &dst[0], &src[0], len(src)/16)
	}
}

// Encrypt encrypts src, a whole number of 16-byte blocks, into dst under AES-CBC with the
// 16-byte iv: C_i = E_K(P_i ⊕ C_{i-1}), C_0 = iv. The slice rules are Decrypt's: dst may
// begin exactly where src begins, any other overlap panics, as do a src that is not whole
// blocks, a dst shorter than src and an iv that is not 16 bytes. iv is read, never
// written. It does not allocate.
func (c *CBCKey) Encrypt(dst, src, iv []byte) {
	if c.blocks(dst, src, iv) > 0 {
		cbcEncAsm(&c.ek[0], c.nr, &iv[0], &dst[0], &src[0], len(src)/16)
	}
}

// blocks checks Encrypt's and Decrypt's arguments (panicking as they document) and returns
// how many blocks src holds.
func (c *CBCKey) blocks(dst, src, iv []byte) int {
	switch {
	case c.nr == 0:
		panic("vgcm: CBCKey not made by NewCBCKey")
	case len(src)%16 != 0:
		panic("vgcm: CBC input not whole blocks")
	case len(dst) < len(src):
		panic("vgcm: CBC output smaller than input")
	case len(iv) != 16:
		panic("vgcm: CBC IV must be 16 bytes")
	case len(src) == 0:
		return 0
	case inexactOverlap(dst[:len(src)], src):
		panic("vgcm: invalid buffer overlap")
	}
	return len(src) / 16
}

// Wipe zeroes the round keys; Encrypt and Decrypt must not be called afterwards.
func (c *CBCKey) Wipe() {
	clear(c.ek[:])
	clear(c.dk[:])
}

// Zeroed reports whether every byte of key material the CBCKey holds is zero (after Wipe).
func (c *CBCKey) Zeroed() bool {
	var acc byte
	for _, b := range c.ek {
		acc |= b
	}
	for _, b := range c.dk {
		acc |= b
	}
	return acc == 0
}
