package vgcm

//go:generate go run ./gen -o vgcm_amd64.s

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

const (
	// NonceSize is the only nonce length supported: 96 bits, salt ‖ IV in ESP (RFC 4106).
	NonceSize = 12
	// maxText is GCM's limit on one message (SP 800-38D §5.2.1.1): 2^32 - 2 blocks.
	maxText = (1<<32 - 2) * 16
)

var (
	// ErrKeySize is returned by NewKey for a key that is not 16, 24 or 32 bytes.
	ErrKeySize = errors.New("vgcm: AES key must be 16, 24 or 32 bytes")
	// ErrNoSHA is returned by NewHMAC256 where SHASupported is false.
	ErrNoSHA = errors.New("vgcm: CPU lacks the SHA extensions (or SSSE3, SSE4.1)")
	// ErrUnsupported is returned by NewKey where Supported is false.
	ErrUnsupported = errors.New("vgcm: CPU lacks VAES, VPCLMULQDQ or AVX-512 F/BW/VL (or the OS does not enable them)")
)

// Key is an expanded AES key with its table of GHASH multipliers. It is read-only after
// NewKey, so one Key may serve any number of goroutines at once. Only NewKey makes a
// usable Key (Seal and Open panic on the zero value), and it fails where Supported is
// false, so the assembly never runs on a CPU without the features it needs.
type Key struct {
	// rk holds the AES round keys 0..nr, 16 bytes each, in FIPS-197 byte order.
	rk [15 * 16]byte
	// nr is the number of rounds: 10, 12 or 14.
	nr int
	// htab[j] (16 bytes, a little-endian 128-bit integer) is φ(H^(33-j))·t mod Q for
	// j = 0..32 (see doc.go); entries 33..51 are zero, so that the assembly can load four
	// entries at a time past the last power it needs.
	htab [52 * 16]byte
}

// NewKey expands an AES-128, AES-192 or AES-256 key and precomputes H^1..H^33. Neither
// step looks anything up by a key-dependent index or branches on key bits: SubWord is
// AESKEYGENASSIST, H is AESENC of the zero block and the powers are carry-less products.
func NewKey(key []byte) (*Key, error) {
	if !Supported() {
		return nil, ErrUnsupported
	}
	nr, err := roundsFor(key)
	if err != nil {
		return nil, err
	}
	k := &Key{nr: nr}
	k.expand(key)

	var zero, h [16]byte
	encryptBlock(&k.rk[0], k.nr, &h[0], &zero[0])
	// φ(H) is H with its bytes reversed, read as a 128-bit integer; times t (one left
	// shift) it may reach t^128, which is replaced by Q - t^128 = 0xc2000...0001. The
	// conditional is a mask, not a branch.
	hi := binary.BigEndian.Uint64(h[0:8])
	lo := binary.BigEndian.Uint64(h[8:16])
	carry := -(hi >> 63)
	hi = hi<<1 | lo>>63
	lo <<= 1
	hi ^= carry & 0xc200000000000000
	lo ^= carry & 1
	var x1 [16]byte
	binary.LittleEndian.PutUint64(x1[0:8], lo)
	binary.LittleEndian.PutUint64(x1[8:16], hi)

	// htab[32] = X_1, htab[31] = X_2 = X_1·X_1, ...: gfMul(a, b) = a·b·t^-128, and
	// X_i·X_j·t^-128 = X_(i+j) (doc.go).
	copy(k.htab[32*16:], x1[:])
	for j := 31; j >= 0; j-- {
		gfMul((*[16]byte)(k.htab[16*j:]), (*[16]byte)(k.htab[16*(j+1):]), &x1)
	}
	clear(h[:])
	clear(x1[:])
	return k, nil
}

// roundsFor is the number of AES rounds for a key: 10, 12 or 14 for 16, 24 or 32 bytes.
func roundsFor(key []byte) (int, error) {
	switch len(key) {
	case 16:
		return 10, nil
	case 24:
		return 12, nil
	case 32:
		return 14, nil
	}
	return 0, ErrKeySize
}

// rcon are the round constants of FIPS-197 §5.2 (x^(i-1) in GF(2^8)); indexed by the
// public word number, never by key material.
var rcon = [10]uint32{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36}

// expand is the key expansion of FIPS-197 §5.2. Words are little-endian here (the first
// key byte in the low byte), so RotWord is a right rotation by 8 and Rcon lands on the
// low byte; stored little-endian, the round keys come out in the standard byte order.
func (k *Key) expand(key []byte) {
	nk := len(key) / 4
	var w [60]uint32
	for i := 0; i < nk; i++ {
		w[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	for i := nk; i < 4*(k.nr+1); i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(t>>8|t<<24) ^ rcon[i/nk-1]
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
	for i := 0; i < 4*(k.nr+1); i++ {
		binary.LittleEndian.PutUint32(k.rk[4*i:], w[i])
	}
	clear(w[:])
}

// Seal encrypts plaintext and authenticates it with aad (AES-GCM, SP 800-38D, 96-bit
// nonce), writing the ciphertext and the first tagLen bytes of the tag (8, 12 or 16) to
// out[:len(plaintext)+tagLen]. It does not allocate and returns nothing: the caller owns
// out and knows the length.
//
// Slice contract: len(nonce) == NonceSize and len(out) >= len(plaintext)+tagLen, else
// Seal panics. out may begin exactly where plaintext begins (in place: pass buf[:n+tagLen]
// for plaintext buf[:n]); any other overlap of out[:len(plaintext)+tagLen] with plaintext
// panics. aad must not overlap out. Bytes of out past len(plaintext)+tagLen are never
// touched, and nothing is read or written outside the slices given (tails use masked
// loads and stores).
//
// GMAC (RFC 4543) is Seal with an empty plaintext and the data as aad.
func (k *Key) Seal(out, nonce, plaintext, aad []byte, tagLen int) {
	n := len(plaintext)
	if k.nr == 0 {
		panic("vgcm: Key not made by NewKey")
	}
	if len(nonce) != NonceSize {
		panic("vgcm: nonce must be 12 bytes")
	}
	if tagLen != 16 && tagLen != 12 && tagLen != 8 {
		panic("vgcm: tag length must be 8, 12 or 16")
	}
	if uint64(n) > maxText {
		panic("vgcm: plaintext too long for GCM")
	}
	if len(out) < n+tagLen {
		panic("vgcm: output too short")
	}
	if inexactOverlap(out[:n+tagLen], plaintext) {
		panic("vgcm: invalid buffer overlap")
	}
	sealAsm(k, unsafe.SliceData(out), unsafe.SliceData(plaintext), n, &nonce[0],
		unsafe.SliceData(aad), len(aad), tagLen)
}

// Open verifies ciphertext = C ‖ tag (the tag tagLen bytes: 8, 12 or 16) against aad and,
// if it is authentic, writes the plaintext to out[:len(ciphertext)-tagLen] and returns
// true. The tag comparison is constant-time. It does not allocate.
//
// Slice contract: len(nonce) == NonceSize and len(out) >= len(ciphertext)-tagLen, else
// Open panics; a ciphertext shorter than tagLen returns false. out may begin exactly where
// ciphertext begins (in place); any other overlap of out[:len(ciphertext)-tagLen] with
// ciphertext (tag included) panics. aad must not overlap out.
//
// On failure Open returns false and ciphertext is exactly as it was, in place or not. The
// assembly decrypts and authenticates in one pass (so a valid packet is read once and
// pays nothing extra); when the tag does not match, Open runs the same keystream over
// out[:n] again, which turns the plaintext back into the ciphertext. So in place the
// buffer is restored bit for bit with no copy kept on the success path, and out of place
// out[:n] ends up holding a copy of the ciphertext: unauthenticated plaintext never
// outlives the call. Only forged or corrupted packets pay for the second pass.
func (k *Key) Open(out, nonce, ciphertext, aad []byte, tagLen int) bool {
	if k.nr == 0 {
		panic("vgcm: Key not made by NewKey")
	}
	if len(nonce) != NonceSize {
		panic("vgcm: nonce must be 12 bytes")
	}
	if tagLen != 16 && tagLen != 12 && tagLen != 8 {
		panic("vgcm: tag length must be 8, 12 or 16")
	}
	n := len(ciphertext) - tagLen
	if n < 0 || uint64(n) > maxText {
		return false
	}
	if len(out) < n {
		panic("vgcm: output too short")
	}
	if inexactOverlap(out[:n], ciphertext) {
		panic("vgcm: invalid buffer overlap")
	}
	dst := unsafe.SliceData(out)
	tag := &ciphertext[n]
	if openAsm(k, dst, unsafe.SliceData(ciphertext), n, &nonce[0], unsafe.SliceData(aad), len(aad), tag, tagLen) {
		return true
	}
	if n > 0 {
		// Undo: decrypting the plaintext again re-applies the same keystream.
		openAsm(k, dst, dst, n, &nonce[0], nil, 0, tag, tagLen)
	}
	return false
}

// inexactOverlap reports whether x and y share memory other than by starting at the same
// address.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}

// Wipe zeroes the round keys and the GHASH multipliers. The Key must not be used after it
// (the caller, esp.Transform.Wipe, makes sure no lane still can).
func (k *Key) Wipe() {
	clear(k.rk[:])
	clear(k.htab[:])
}

// Zeroed reports whether every byte of key material the Key holds is zero (after Wipe).
func (k *Key) Zeroed() bool {
	var acc byte
	for _, b := range k.rk {
		acc |= b
	}
	for _, b := range k.htab {
		acc |= b
	}
	return acc == 0
}
