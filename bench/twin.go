package bench

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// Twin templates: how a decrypt row's harness gets a packet ready again without writing it.
//
// The NIC decrypts in place, so a decrypt row's harness must undo that before it submits the
// packet again. Copying the sealed bytes back costs little on the harness's core but a lot on
// the lane's: every line of the packet is then modified in the harness core's cache, and the
// lane's next pass has to fetch all of them across (a 1400-byte AES-GCM open took 520 ns in
// the engine against 165 ns on bytes in the cache). That is a cost of the harness, not of the
// NIC: a real receive path gets its frames from a device's DMA, not from a core that has just
// written them.
//
// AES-GCM encrypts with a keystream XOR, so applying it twice gives the bytes back. A twin
// template is a packet sealed twice with one IV: state A is plaintext P sealed (ciphertext
// C = P ^ KS, tag TA); state B is C sealed as if it were plaintext (ciphertext P, tag TB). The
// NIC opens A into P, which is B's ciphertext; with TB written over TA it opens B into C, A's
// ciphertext again; and so on. Between passes the harness writes only the 16-byte ICV, so the
// packet's lines stay where the lane left them. Both states must open to a valid ESP trailer
// (pad length 0, next header UDP): twinIV picks the IV whose keystream is zero over those two
// bytes, so that P and C end in the same trailer. Each pass is still a full AES-GCM open with
// its ICV checked, and a wrong decryption would fail the next pass's ICV: the row counts it.
//
// The IV is the same for every packet of one SA and size (found once, about 65,536 AES
// blocks): nonce reuse that a benchmark with its own throwaway keys can afford.

// twinnable says the algorithm's decrypt rows use twin templates: AES-GCM. AES-GMAC, NULL
// and AH leave the bytes as they are (no restore at all); AES-CBC's decryption is not an
// involution, so its rows copy.
func (a Algo) twinnable() bool { return a == AES128GCM || a == AES256GCM }

// twinKey is what twinIV's search depends on.
type twinKey struct {
	spi   uint32
	ctLen int
}

// twinIV returns the first explicit IV from start on for which AES-GCM's keystream (RFC 4106:
// counter block salt ‖ IV ‖ 32-bit counter, the payload from counter 2) is zero at the last
// two bytes of a ctLen-byte ciphertext. keyMat is the key ‖ salt.
func twinIV(keyMat []byte, ctLen int, start uint64) (uint64, error) {
	key, salt := keyMat[:len(keyMat)-esp.SaltLen], keyMat[len(keyMat)-esp.SaltLen:]
	blk, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	var in, out [16]byte
	copy(in[:], salt)
	ks := func(iv uint64, pos int) byte {
		binary.BigEndian.PutUint64(in[4:], iv)
		binary.BigEndian.PutUint32(in[12:], uint32(2+pos/16))
		blk.Encrypt(out[:], in[:])
		return out[pos%16]
	}
	for iv := start; iv < start+1<<24; iv++ {
		if ks(iv, ctLen-2) == 0 && ks(iv, ctLen-1) == 0 {
			return iv, nil
		}
	}
	return 0, fmt.Errorf("bench: no twin IV for a %d-byte ciphertext in 2^24 tries", ctLen)
}

// sealTwin seals the framed packet f (IPv4 transport ESP, trailer pad length 0) into state A
// in place and returns state B's ICV, after checking that both states open to f's payload
// trailer. ivs caches the IV per SA and ciphertext length.
func (p peer) sealTwin(f []byte, spi uint32, keyMat []byte, ivs map[twinKey]uint64) ([]byte, error) {
	icvLen := p.esp.ICVLen()
	body := f[20 : len(f)-icvLen]
	ctLen := len(body) - esp.PayloadOffset
	k := twinKey{spi, ctLen}
	iv, ok := ivs[k]
	if !ok {
		var err error
		if iv, err = twinIV(keyMat, ctLen, uint64(spi)<<32); err != nil {
			return nil, err
		}
		ivs[k] = iv
	}
	esp.PutIV(body, iv)
	if _, err := p.esp.Seal(new(esp.Scratch), body, 0); err != nil {
		return nil, err
	}
	b := append([]byte(nil), f...)
	if _, err := p.esp.Seal(new(esp.Scratch), b[20:len(b)-icvLen], 0); err != nil {
		return nil, err
	}
	// Both states must open, each into the other's ciphertext, with a valid trailer.
	for _, st := range [][]byte{f, b} {
		pkt := append([]byte(nil), st[20:]...)
		plain, err := p.esp.Open(new(esp.Scratch), pkt, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: twin template SPI 0x%08x: %v", errCheck, spi, err)
		}
		other := f
		if &st[0] == &f[0] {
			other = b
		}
		if _, pad, nh, err := esp.ParseTrailer(plain); err != nil || pad != 0 || nh != inet.ProtoUDP ||
			!bytes.Equal(pkt[esp.PayloadOffset:len(pkt)-icvLen], other[20+esp.PayloadOffset:len(other)-icvLen]) {
			return nil, fmt.Errorf("%w: twin template SPI 0x%08x does not open into its twin (pad %d, next header %d, %v)", errCheck, spi, pad, nh, err)
		}
	}
	return b[len(b)-icvLen:], nil
}

// rearm readies a twin packet that the NIC has just opened for its next pass: the buffer
// holds the other state's ciphertext under this state's ICV, so the other state's ICV goes
// over it. It reports false if the ICV is neither state's (the NIC wrote where it should
// not have).
func (t *template) rearm(f []byte) bool {
	icv := f[len(f)-len(t.twin):]
	a := t.frame[len(t.frame)-len(t.twin):]
	switch {
	case bytes.Equal(icv, a):
		copy(icv, t.twin)
	case bytes.Equal(icv, t.twin):
		copy(icv, a)
	default:
		return false
	}
	return true
}
