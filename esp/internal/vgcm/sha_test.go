package vgcm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

func skipNoSHA(tb testing.TB) {
	tb.Helper()
	if !SHASupported() {
		tb.Skip("this CPU lacks the SHA extensions")
	}
}

func stdHMAC256(key []byte, parts [][]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// shaForms are the compression functions this CPU runs: sha256Blocks, and sha256BlocksVL
// where it has AVX-512 VL. Every test of HMAC256 runs each.
func shaForms() []bool {
	if shaVL {
		return []bool{false, true}
	}
	return []bool{false}
}

func formName(vl bool) string {
	if vl {
		return "sha256BlocksVL"
	}
	return "sha256Blocks"
}

// checkHMAC256 fails the test unless Sum of parts under key equals crypto/hmac's, with
// each compression function.
func checkHMAC256(t *testing.T, key []byte, parts [][]byte, what string) {
	t.Helper()
	want := stdHMAC256(key, parts)
	for _, vl := range shaForms() {
		k, err := newHMAC256(key, vl)
		if err != nil {
			t.Fatal(err)
		}
		var out [32]byte
		k.Sum(&out, parts)
		if !bytes.Equal(out[:], want) {
			t.Fatalf("%s, %s: %x, want %x", what, formName(vl), out, want)
		}
	}
}

// The two compression functions agree with each other and with crypto/sha256 over runs of
// 1 to 40 blocks of random bytes from random states (a digest of 1..40 blocks padded by
// hand: the last block is the FIPS 180-4 padding of the message before it).
func TestSHA256Blocks(t *testing.T) {
	skipNoSHA(t)
	if !shaVL {
		t.Log("this CPU lacks AVX-512 VL: only sha256Blocks is checked")
	}
	r := mrand.New(mrand.NewPCG(180, 4))
	for i := range 400 {
		nb := 1 + r.IntN(40)
		msg := randBytes(r, 64*nb)
		want := sha256.Sum256(msg)
		var pad [64]byte
		pad[0] = 0x80
		binary.BigEndian.PutUint64(pad[56:], uint64(len(msg))*8)
		for _, vl := range shaForms() {
			k := &HMAC256{vl: vl}
			h := sha256IV
			k.blocks(&h, &msg[0], nb)
			k.blocks(&h, &pad[0], 1)
			var got [32]byte
			for j, v := range h {
				binary.BigEndian.PutUint32(got[4*j:], v)
			}
			if got != want {
				t.Fatalf("#%d, %d blocks, %s: %x, want %x", i, nb, formName(vl), got, want)
			}
		}
	}
}

// RFC 4231 section 4, test cases 1, 2, 3, 6 and 7 (HMAC-SHA-256): short, long (hashed)
// keys and a message longer than a block.
func TestHMAC256RFC4231(t *testing.T) {
	skipNoSHA(t)
	rep := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	for i, c := range []struct {
		key, data []byte
		want      string
	}{
		{rep(0x0b, 20), []byte("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{[]byte("Jefe"), []byte("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{rep(0xaa, 20), rep(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{rep(0xaa, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{rep(0xaa, 131), []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	} {
		for _, vl := range shaForms() {
			k, err := newHMAC256(c.key, vl)
			if err != nil {
				t.Fatal(err)
			}
			var out [32]byte
			k.Sum(&out, [][]byte{c.data})
			if got := hex.EncodeToString(out[:]); got != c.want {
				t.Errorf("case %d, %s: %s, want %s", i, formName(vl), got, c.want)
			}
		}
	}
}

// Sum equals crypto/hmac for keys of 0..200 bytes and messages of 0..700 bytes cut into
// up to four parts at random places (every join: inside a block, on a boundary, empty
// parts), and for a 1400-byte packet's shape (44 + 1356 + 4).
func TestHMAC256Differential(t *testing.T) {
	skipNoSHA(t)
	r := mrand.New(mrand.NewPCG(4231, 2104))
	for i := range 3000 {
		key := randBytes(r, r.IntN(201))
		msg := randBytes(r, r.IntN(701))
		if i == 0 {
			msg = randBytes(r, 1404)
		}
		var parts [][]byte
		rest := msg
		for np := r.IntN(4); np > 0 && len(rest) > 0; np-- {
			c := r.IntN(len(rest) + 1)
			if i == 0 {
				c = min(44, len(rest))
			}
			parts = append(parts, rest[:c])
			rest = rest[c:]
		}
		parts = append(parts, rest)
		checkHMAC256(t, key, parts, fmt.Sprintf("#%d: key %d bytes, message %d bytes in %d parts", i, len(key), len(msg), len(parts)))
	}
}

func TestHMAC256Wipe(t *testing.T) {
	skipNoSHA(t)
	k, _ := NewHMAC256([]byte("key"))
	if k.Zeroed() {
		t.Fatal("fresh key reads as zeroed")
	}
	k.Wipe()
	if !k.Zeroed() {
		t.Fatal("Wipe left key material")
	}
}

func TestHMAC256Allocs(t *testing.T) {
	skipNoSHA(t)
	for _, vl := range shaForms() {
		k, _ := newHMAC256([]byte("key"), vl)
		msg := make([]byte, 1400)
		var out [32]byte
		parts := [][]byte{msg[:44], msg[44:]}
		if n := testing.AllocsPerRun(100, func() { k.Sum(&out, parts) }); n != 0 {
			t.Errorf("Sum with %s allocates %v times", formName(vl), n)
		}
	}
}

// FuzzHMAC256 checks Sum against crypto/hmac for arbitrary keys and messages in two parts.
func FuzzHMAC256(f *testing.F) {
	if !SHASupported() {
		f.Skip("this CPU lacks the SHA extensions")
	}
	f.Add([]byte("key"), []byte("a message of a few bytes that crosses no block"), uint16(7))
	f.Fuzz(func(t *testing.T, key, msg []byte, cut uint16) {
		c := int(cut) % (len(msg) + 1)
		parts := [][]byte{msg[:c], msg[c:]}
		checkHMAC256(t, key, parts, "fuzz")
	})
}

func BenchmarkHMAC256(b *testing.B) {
	skipNoSHA(b)
	key := make([]byte, 32)
	msg := make([]byte, 1400)
	for _, vl := range shaForms() {
		b.Run("ours-"+formName(vl), func(b *testing.B) {
			k, _ := newHMAC256(key, vl)
			var out [32]byte
			parts := [][]byte{msg[:44], msg[44:]}
			b.SetBytes(1400)
			for b.Loop() {
				k.Sum(&out, parts)
			}
		})
	}
	b.Run("crypto-hmac", func(b *testing.B) {
		m := hmac.New(sha256.New, key)
		sum := make([]byte, 0, 32)
		b.SetBytes(1400)
		for b.Loop() {
			m.Reset()
			m.Write(msg[:44])
			m.Write(msg[44:])
			sum = m.Sum(sum[:0])
		}
	})
}
