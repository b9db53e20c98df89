package esp

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"sync/atomic"
)

// AES-CBC (RFC 3602) is done here block by block over the SA's cipher.Block rather than with
// crypto/cipher's CBC BlockMode: a BlockMode carries the IV as state, so it would have to be
// made per packet (an allocation) or kept per lane and per SA. A cipher.Block is stateless and
// safe for concurrent use, so one per SA serves every lane. The per-block cost is the same
// AES-NI (or ARMv8 AES) instruction sequence the BlockMode runs; BenchmarkSealCBC and
// BenchmarkOpenCBC measure the difference against crypto/cipher's CBC in the same run.

// cbcEncrypt encrypts buf, a whole number of blocks, in place: C_i = E_K(P_i ⊕ C_{i-1}) with
// C_0 = iv (RFC 3602 §2.3, NIST SP 800-38A §6.2). iv must not overlap buf. The XOR goes
// through subtle.XORBytes, whose single 16-byte store the block function's load then forwards
// from; a byte-wise loop here measured twice as slow, the store forwarding failing.
func cbcEncrypt(b cipher.Block, iv, buf []byte) {
	prev := iv
	for len(buf) >= CBCBlockSize {
		blk := buf[:CBCBlockSize]
		subtle.XORBytes(blk, blk, prev)
		b.Encrypt(blk, blk)
		prev = blk
		buf = buf[CBCBlockSize:]
	}
}

// cbcDecrypt decrypts buf, a whole number of blocks, in place: P_i = D_K(C_i) ⊕ C_{i-1}. It
// runs from the last block to the first, so the ciphertext block each step needs (the one in
// front) has not been overwritten yet, and no copy is made.
func cbcDecrypt(b cipher.Block, iv, buf []byte) {
	for end := len(buf); end >= CBCBlockSize; end -= CBCBlockSize {
		blk := buf[end-CBCBlockSize : end]
		b.Decrypt(blk, blk)
		if end == CBCBlockSize {
			subtle.XORBytes(blk, blk, iv)
		} else {
			subtle.XORBytes(blk, blk, buf[end-2*CBCBlockSize:end-CBCBlockSize])
		}
	}
}

// ivGen makes AES-CBC IVs: IV_n = AES_{K_iv}(0^64 ‖ n) for n = 0, 1, 2, ... under a per-SA key
// K_iv drawn from crypto/rand when the SA is added.
//
//   - Unique: AES is a permutation, so distinct inputs give distinct IVs, and n is a 64-bit
//     counter taken with one atomic add per packet, which cannot repeat within an SA's life
//     (2^64 packets).
//   - Unpredictable (RFC 3602 §3: the IV MUST be chosen at random and unpredictable): to
//     anyone without K_iv the outputs of AES on known, even chosen, inputs are
//     indistinguishable from random, so seeing IVs 0..n says nothing about IV n+1. This is
//     NIST SP 800-38A Appendix C's first method (encrypt a nonce under the forward cipher);
//     K_iv is a separate key rather than the SA's encryption key, so that no IV is ever an
//     output of the encryption key on an input an attacker might steer through a plaintext
//     block.
//   - Cheap: one AES block per packet, no syscall, no allocation. crypto/rand is read once,
//     in NewTransform.
//
// Why not AES_{K_iv}(sequence number): that is unique only while the caller never reuses a
// sequence number (R-TX-8 says it does not, but then the IV's safety would rest on the host
// and the stage, and a benchmark that reseals one buffer would repeat IVs); the counter's
// uniqueness rests on this type alone.
type ivGen struct {
	block cipher.Block // AES under K_iv; nil after Wipe
	key   []byte       // K_iv, zeroed by Wipe
	ctr   *ivCounter
}

// ivCounter sits on a cache line of its own: it is the one field of a Transform written on the
// data path, and it must not make the read-only fields' line bounce between cores.
type ivCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// next writes the next IV into iv (16 bytes). in is a 16-byte block of the caller's lane
// state: cipher.Block's arguments escape, so it must not be on the stack.
func (g *ivGen) next(in, iv []byte) {
	binary.BigEndian.PutUint64(in[0:8], 0)
	binary.BigEndian.PutUint64(in[8:16], g.ctr.n.Add(1)-1)
	g.block.Encrypt(iv, in)
}

// padOK reports whether plain = payload ‖ padding ‖ pad length ‖ next header ends in the
// default padding 1, 2, 3, ... that RFC 4303 §2.4 has the sender write, with a pad length
// that fits. It runs after the ICV has verified, so only a holder of the key can make it
// fail; still, it reads the same bytes in the same order whatever the pad length and the
// padding hold (the last min(len, 257) bytes), uses no pad-dependent address or branch,
// and so takes a time that depends only on the packet's length, which is public.
// len(plain) >= TrailerLen is the caller's to guarantee.
//
// It checks eight bytes at a time: the bytes expected at positions j0..j0+7 are d, d+1, ...,
// d+7 with d = j0 - start + 1 (start being where the padding begins), made with a
// lane-by-lane add that carries nothing between bytes, and the lanes in front of the padding
// are masked off with a shift. A byte loop, twice as slow per packet at full MTU, checks the
// few bytes below the last whole word.
func padOK(plain []byte) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	n := len(plain) - TrailerLen // bytes in front of the pad length field
	pl := int(plain[n])
	start := n - pl
	bad := uint64(start >> 63) // all ones when the pad runs past the front (arithmetic shift)
	m := min(n, 255)
	j := n
	for ; j-8 >= n-m; j -= 8 {
		j0 := j - 8
		d := j0 - start + 1 // from -254 to 248: the lanes' values d+k never pass 255
		a, k := uint64(uint8(d))*lsb, uint64(0x0706050403020100)
		want := ((a &^ msb) + (k &^ msb)) ^ ((a ^ k) & msb) // byte k: (d+k) mod 256
		s := 1 - d                                          // lanes k >= s are padding
		s &^= s >> 63                                       // at least 0
		over := (8 - s) >> 63                               // all ones when s > 8
		s = s&^over | 8&over                                // at most 8
		inPad := ^uint64(0) << (8 * uint(s))                // 0 when s == 8
		bad |= (binary.LittleEndian.Uint64(plain[j0:]) ^ want) & inPad
	}
	for i := n - j + 1; i <= m; i++ {
		inPad := ^((pl - i) >> 63) // all ones for the pl bytes in front of the pad length
		// Pad byte t (1-based) holds t, and plain[n-i] is pad byte pl-i+1.
		bad |= uint64((int(plain[n-i]) ^ (pl - i + 1)) & inPad)
	}
	return bad == 0
}

// cbcModes are one lane slot's CBC encrypter and decrypter for one SA: crypto/cipher's block
// modes over the SA's AES block, which run the rounds without the per-block checks of the
// public Block API (cbcEncrypt's cost), re-aimed per packet with SetIV. A Transform keeps one
// per lane slot (Transform.modes, indexed by laneSlot.idx), made on the slot's first packet
// for the SA; only the goroutine holding the slot touches it, so no allocation and no lock
// per packet.
type cbcModes struct {
	enc, dec     cipher.BlockMode
	encIV, decIV ivSetter
}

// ivSetter is the SetIV method crypto/cipher's CBC modes have (and keep for compatibility).
type ivSetter interface{ SetIV([]byte) }

// cbcFor returns the slot's modes for t, making them on first use. ok is false when the
// modes lack SetIV (not the case for an AES block), and the caller then uses
// cbcEncrypt/cbcDecrypt.
func (t *Transform) cbcFor(sl *laneSlot) (m *cbcModes, ok bool) {
	m = &t.modes[sl.idx]
	if m.enc == nil {
		var zero [CBCBlockSize]byte
		m.enc = cipher.NewCBCEncrypter(t.block, zero[:])
		m.dec = cipher.NewCBCDecrypter(t.block, zero[:])
		m.encIV, _ = m.enc.(ivSetter)
		m.decIV, _ = m.dec.(ivSetter)
	}
	return m, m.encIV != nil && m.decIV != nil
}

// encrypt is cbcEncrypt: by ov2's AES-NI code for ImplVAES (round keys in registers, about
// twice crypto/cipher's speed), else through the slot's modes.
func (t *Transform) encrypt(sl *laneSlot, iv, buf []byte) {
	if t.cbcKey != nil {
		t.cbcKey.Encrypt(buf, buf, iv)
		return
	}
	if m, ok := t.cbcFor(sl); ok {
		m.encIV.SetIV(iv)
		m.enc.CryptBlocks(buf, buf)
		return
	}
	cbcEncrypt(t.block, iv, buf)
}

// decrypt is cbcDecrypt: by ov2's eight-block AES-NI code for ImplVAES, else through the
// slot's modes.
func (t *Transform) decrypt(sl *laneSlot, iv, buf []byte) {
	if t.cbcKey != nil {
		t.cbcKey.Decrypt(buf, buf, iv)
		return
	}
	if m, ok := t.cbcFor(sl); ok {
		m.decIV.SetIV(iv)
		m.dec.CryptBlocks(buf, buf)
		return
	}
	cbcDecrypt(t.block, iv, buf)
}
