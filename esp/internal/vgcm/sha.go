package vgcm

import (
	"crypto/sha256"
	"encoding/binary"
)

// HMAC256 is an HMAC-SHA-256 key (RFC 2104, FIPS 180-4) in the form the data path uses:
// the SHA-256 states after the K0 ⊕ ipad and K0 ⊕ opad blocks, eight words each. It is
// read-only after NewHMAC256, so one HMAC256 may serve any number of goroutines at once.
//
// Per message, crypto/hmac restores two hash objects from their saved states
// (UnmarshalBinary), writes through a 64-byte buffer, and copies the whole digest state to
// sum it; here a state is a 32-byte copy, whole blocks go from the message straight to the
// compression function (sha256Blocks, SHA extensions), and only the partial blocks at the
// joins of the parts and the padding go through a buffer. The compression function is the
// same instructions crypto/sha256 runs, except that where the CPU has AVX-512 VL the message
// schedule is computed on the vector units instead of the SHA unit, which leaves that unit
// to the rounds (sha256BlocksVL; gen/sha.go gives the figures).
type HMAC256 struct {
	inner, outer [8]uint32
	vl           bool // sha256BlocksVL, else sha256Blocks
}

// sha256IV is H(0) of FIPS 180-4 §5.3.3.
var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// NewHMAC256 precomputes the pad states for key, of any length (a key longer than 64 bytes
// is hashed first, RFC 2104 §2). It fails where SHASupported is false.
func NewHMAC256(key []byte) (*HMAC256, error) { return newHMAC256(key, shaVL) }

// newHMAC256 is NewHMAC256 with the compression function chosen: vl must be false where
// shaVL is (the tests run both forms where the CPU has both).
func newHMAC256(key []byte, vl bool) (*HMAC256, error) {
	if !SHASupported() {
		return nil, ErrNoSHA
	}
	var k0, pad [64]byte
	if len(key) > len(k0) {
		s := sha256.Sum256(key)
		copy(k0[:], s[:])
		clear(s[:])
	} else {
		copy(k0[:], key)
	}
	k := &HMAC256{inner: sha256IV, outer: sha256IV, vl: vl}
	for i := range k0 {
		pad[i] = k0[i] ^ 0x36
	}
	k.blocks(&k.inner, &pad[0], 1)
	for i := range k0 {
		pad[i] = k0[i] ^ 0x5c
	}
	k.blocks(&k.outer, &pad[0], 1)
	clear(k0[:])
	clear(pad[:])
	return k, nil
}

// blocks absorbs n 64-byte blocks at p into h with k's compression function.
func (k *HMAC256) blocks(h *[8]uint32, p *byte, n int) {
	if k.vl {
		sha256BlocksVL(h, p, n)
		return
	}
	sha256Blocks(h, p, n)
}

// Sum writes HMAC-SHA-256(K, parts[0] ‖ parts[1] ‖ ...) to out. It does not allocate.
func (k *HMAC256) Sum(out *[32]byte, parts [][]byte) {
	h := k.inner
	var buf [128]byte
	n, total := 0, 64 // bytes waiting in buf; bytes hashed, the ipad block included
	for _, p := range parts {
		total += len(p)
		if n > 0 {
			c := copy(buf[n:64], p)
			n += c
			p = p[c:]
			if n < 64 {
				continue
			}
			k.blocks(&h, &buf[0], 1)
			n = 0
		}
		if nb := len(p) / 64; nb > 0 {
			k.blocks(&h, &p[0], nb)
			p = p[64*nb:]
		}
		n = copy(buf[:64], p)
	}
	// FIPS 180-4 §5.1.1: 0x80, zeros, the length in bits in the last 8 bytes of the block,
	// one block more when fewer than 9 bytes are left in this one.
	buf[n] = 0x80
	clear(buf[n+1:])
	blocks := 1
	if n+9 > 64 {
		blocks = 2
	}
	binary.BigEndian.PutUint64(buf[64*blocks-8:], uint64(total)*8)
	k.blocks(&h, &buf[0], blocks)
	// The outer hash: K0 ⊕ opad (in k.outer), then the inner digest, one block.
	clear(buf[:64])
	for i, v := range h {
		binary.BigEndian.PutUint32(buf[4*i:], v)
	}
	buf[32] = 0x80
	binary.BigEndian.PutUint64(buf[56:], (64+32)*8)
	o := k.outer
	k.blocks(&o, &buf[0], 1)
	for i, v := range o {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	clear(buf[:])
	clear(h[:])
}

// Wipe zeroes the pad states; Sum must not be called afterwards.
func (k *HMAC256) Wipe() {
	clear(k.inner[:])
	clear(k.outer[:])
}

// Zeroed reports whether both pad states are zero (after Wipe).
func (k *HMAC256) Zeroed() bool { return k.inner == [8]uint32{} && k.outer == [8]uint32{} }
