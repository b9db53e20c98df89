package esp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// crossPair keys the same SA with the standard library and with each other implementation
// this machine runs (portable, and vaes where the CPU has it).
func crossPair(t *testing.T, p Params) (std *Transform, others []*Transform) {
	t.Helper()
	p.Impl = ImplStdlib
	std = mustTransform(t, p)
	for _, impl := range testImpls[1:] {
		p.Impl = impl
		others = append(others, mustTransform(t, p))
	}
	return std, others
}

// randBytes returns n bytes from r.
func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestCrossCheck seals random packets (random key size, key, salt, ICV length, ESN, SPI,
// sequence number and payload length 0..1500) with both implementations: Seal must produce
// identical bytes, each must open the other's packet, and a one-bit change anywhere must make
// both refuse it with ErrAuth and leave it untouched. SPEC §6: the portable fallback is a
// drop-in for the stdlib path; R-RX-5 and R-RX-6 for both. The seed is fixed so that a
// failure reproduces.
func TestCrossCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 4106))
	s := new(Scratch)
	for i := range 400 {
		p := Params{Alg: AESGCM, ICVLen: []int{8, 12, 16}[r.IntN(3)], ESN: r.IntN(2) == 0}
		if r.IntN(4) == 0 {
			p = Params{Alg: AESGMAC, ESN: p.ESN}
		}
		p.KeyMat = randBytes(r, []int{16, 24, 32}[r.IntN(3)]+SaltLen)
		std, others := crossPair(t, p)
		seq, seqHi := r.Uint64(), r.Uint32()
		payload := randBytes(r, r.IntN(1501))

		pkt := make([]byte, PayloadOffset, PayloadOffset+len(payload)+3+TrailerLen)
		PutHeader(pkt, r.Uint32(), uint32(seq))
		PutIV(pkt, seq)
		pkt = AppendTrailer(append(pkt, payload...), PadLen(len(payload)), byte(r.Uint32()))
		plain := bytes.Clone(pkt[PayloadOffset:])

		a, errA := std.Seal(s, withTailroom(pkt), seqHi)
		for _, port := range others {
			b, errB := port.Seal(s, withTailroom(pkt), seqHi)
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Fatalf("#%d %v ICV %d ESN %v, %d-byte key, %d-byte payload: Seal differs\nstdlib %x (%v)\n%v %x (%v)",
					i, p.Alg, std.ICVLen(), p.ESN, len(p.KeyMat)-SaltLen, len(payload), a, errA, port.ImplKind(), b, errB)
			}
			for _, open := range []*Transform{port, std} {
				sealed := a
				if open == std {
					sealed = b
				}
				got, err := open.Open(s, withTailroom(sealed), seqHi)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("#%d %v Open of the other's packet = %x, %v; want %x", i, open.ImplKind(), got, err, plain)
				}
				bad := withTailroom(sealed)
				bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
				before := bytes.Clone(bad)
				if got, err := open.Open(s, bad, seqHi); got != nil || !errors.Is(err, ErrAuth) || !bytes.Equal(bad, before) {
					t.Fatalf("#%d %v Open of a flipped packet = %x, %v, unchanged %v; want nil, ErrAuth, true",
						i, open.ImplKind(), got, err, bytes.Equal(bad, before))
				}
			}
		}
	}
}

// TestCrossCheckCore compares the two cores below the ESP framing, where the AAD can be any
// length (0..80 bytes) and the plaintext can be empty: sealCore must give identical bytes for
// every ICV length, openCore must accept the other's output, and the GMAC tags of random AADs
// must agree. SPEC §6.
func TestCrossCheckCore(t *testing.T) {
	r := rand.New(rand.NewPCG(4543, 38))
	s := new(Scratch)
	for i := range 400 {
		icv := []int{8, 12, 16}[r.IntN(3)]
		keyMat := randBytes(r, []int{16, 24, 32}[r.IntN(3)]+SaltLen)
		std, others := crossPair(t, Params{Alg: AESGCM, KeyMat: keyMat, ICVLen: icv})
		nonce := append(bytes.Clone(keyMat[len(keyMat)-SaltLen:]), randBytes(r, IVLen)...)
		aad, msg := randBytes(r, r.IntN(81)), randBytes(r, r.IntN(300))

		a := std.sealCore(s, nonce, aad, withTailroom(msg))
		gs, gothers := crossPair(t, Params{Alg: AESGMAC, KeyMat: keyMat})
		tagS := bytes.Clone(gs.gmacTag(s, nonce, aad))
		for k, port := range others {
			b := port.sealCore(s, nonce, aad, withTailroom(msg))
			if !bytes.Equal(a, b) {
				t.Fatalf("#%d ICV %d, %d-byte AAD, %d-byte message: sealCore differs\nstdlib %x\n%v %x",
					i, icv, len(aad), len(msg), a, port.ImplKind(), b)
			}
			if got, err := port.openCore(s, nonce, aad, withTailroom(a)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("#%d %v openCore of stdlib's output = %x, %v; want %x", i, port.ImplKind(), got, err, msg)
			}
			if got, err := std.openCore(s, nonce, aad, withTailroom(b)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("#%d stdlib openCore of %v's output = %x, %v; want %x", i, port.ImplKind(), got, err, msg)
			}
			if tagP := gothers[k].gmacTag(s, nonce, aad); !bytes.Equal(tagS, tagP) {
				t.Fatalf("#%d GMAC of %d-byte AAD: stdlib %x, %v %x", i, len(aad), tagS, port.ImplKind(), tagP)
			}
		}
	}
}
