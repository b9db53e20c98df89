package vgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// stdCBC is crypto/cipher's CBC encryption or decryption, the reference.
func stdCBC(t testing.TB, encrypt bool, key, iv, src []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	m := cipher.NewCBCDecrypter(b, iv)
	if encrypt {
		m = cipher.NewCBCEncrypter(b, iv)
	}
	out := make([]byte, len(src))
	m.CryptBlocks(out, src)
	return out
}

func mustCBCKey(t testing.TB, key []byte) *CBCKey {
	t.Helper()
	k, err := NewCBCKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NIST SP 800-38A appendix F.2: CBC-AES128, CBC-AES192 and CBC-AES256, four blocks each,
// one IV, the same plaintext; F.2.1, F.2.3 and F.2.5 encrypt it into the ciphertexts that
// F.2.2, F.2.4 and F.2.6 decrypt.
var sp80038aCBC = struct {
	iv, plain string
	cases     []struct{ key, ct string }
}{
	iv: "000102030405060708090a0b0c0d0e0f",
	plain: "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	cases: []struct{ key, ct string }{
		{"2b7e151628aed2a6abf7158809cf4f3c",
			"7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
				"73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"},
		{"8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
			"4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a" +
				"571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"},
		{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
			"f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d" +
				"39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"},
	},
}

// SP 800-38A F.2.1 to F.2.6: each key's plaintext encrypts to its ciphertext and the
// ciphertext decrypts to the plaintext, out of place and in place.
func TestCBCSP80038A(t *testing.T) {
	skipUnsupported(t)
	for _, c := range sp80038aCBC.cases {
		key, _ := hex.DecodeString(c.key)
		ct, _ := hex.DecodeString(c.ct)
		ivb, _ := hex.DecodeString(sp80038aCBC.iv)
		pt, _ := hex.DecodeString(sp80038aCBC.plain)
		k := mustCBCKey(t, key)
		for _, d := range []struct {
			name      string
			f         func(*CBCKey, []byte, []byte, []byte)
			from, out []byte
		}{{"encrypt", (*CBCKey).Encrypt, pt, ct}, {"decrypt", (*CBCKey).Decrypt, ct, pt}} {
			got := make([]byte, len(d.from))
			d.f(k, got, d.from, ivb)
			if !bytes.Equal(got, d.out) {
				t.Errorf("AES-%d %s: got %x, want %x", 8*len(key), d.name, got, d.out)
			}
			buf := bytes.Clone(d.from)
			d.f(k, buf, buf, ivb)
			if !bytes.Equal(buf, d.out) {
				t.Errorf("AES-%d %s in place: got %x, want %x", 8*len(key), d.name, buf, d.out)
			}
		}
	}
}

// Encrypt and Decrypt equal crypto/cipher's CBC for every key size, lengths 0..300 blocks
// around the 8-block steps of decryption, in place and out of place; they write nothing past
// the input's end, leave the source (out of place) and the IV alone, and Decrypt takes
// Encrypt back.
func TestCBCDifferential(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(21, 22))
	for _, encrypt := range []bool{false, true} {
		for _, kl := range []int{16, 24, 32} {
			for blocks := 0; blocks <= 300; blocks += 1 + blocks/16 {
				key, iv := randBytes(r, kl), randBytes(r, 16)
				src := randBytes(r, 16*blocks)
				want := stdCBC(t, encrypt, key, iv, src)
				k := mustCBCKey(t, key)
				op := k.Decrypt
				if encrypt {
					op = k.Encrypt
				}
				ivCopy, srcCopy := bytes.Clone(iv), bytes.Clone(src)
				where := fmt.Sprintf("encrypt %v, AES-%d, %d blocks", encrypt, 8*kl, blocks)

				dst := bytes.Repeat([]byte{0xa5}, len(src)+16)
				op(dst, src, iv)
				if !bytes.Equal(dst[:len(src)], want) || !bytes.Equal(dst[len(src):], bytes.Repeat([]byte{0xa5}, 16)) {
					t.Fatalf("%s: out of place differs from crypto/cipher (or wrote past the end)", where)
				}
				if !bytes.Equal(src, srcCopy) || !bytes.Equal(iv, ivCopy) {
					t.Fatalf("%s: the source or the IV changed", where)
				}
				buf := bytes.Clone(src)
				op(buf, buf, iv)
				if !bytes.Equal(buf, want) {
					t.Fatalf("%s: in place differs from crypto/cipher", where)
				}
				if encrypt {
					if k.Decrypt(buf, buf, iv); !bytes.Equal(buf, src) {
						t.Fatalf("%s: Decrypt does not take Encrypt back", where)
					}
				}
			}
		}
	}
}

// The slice contract of Encrypt and Decrypt: bad lengths and partial overlaps panic, the
// zero CBCKey panics, Wipe zeroes both round-key schedules.
func TestCBCContract(t *testing.T) {
	skipUnsupported(t)
	k := mustCBCKey(t, make([]byte, 16))
	buf := make([]byte, 64)
	iv := make([]byte, 16)
	for _, op := range []struct {
		name string
		f    func(*CBCKey, []byte, []byte, []byte)
	}{{"Decrypt", (*CBCKey).Decrypt}, {"Encrypt", (*CBCKey).Encrypt}} {
		for name, f := range map[string]func(){
			"partial block":   func() { op.f(k, buf, buf[:20], iv) },
			"short dst":       func() { op.f(k, buf[:16], buf[16:48], iv) },
			"short IV":        func() { op.f(k, buf, buf, iv[:8]) },
			"partial overlap": func() { op.f(k, buf[16:], buf[:32], iv) },
			"zero key":        func() { op.f(new(CBCKey), buf, buf, iv) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s, %s: no panic", op.name, name)
					}
				}()
				f()
			}()
		}
	}
	if _, err := NewCBCKey(make([]byte, 20)); err != ErrKeySize {
		t.Errorf("20-byte key: %v, want ErrKeySize", err)
	}
	if k.Zeroed() {
		t.Fatal("a fresh key reads as zeroed")
	}
	k.Wipe()
	if !k.Zeroed() {
		t.Fatal("Wipe left key material")
	}
	for _, c := range []func(*CBCKey){func(c *CBCKey) { c.ek[5] = 1 }, func(c *CBCKey) { c.dk[200] = 1 }} {
		var one CBCKey
		c(&one)
		if one.Zeroed() {
			t.Fatal("Zeroed misses a byte of a round-key schedule")
		}
	}
}

// FuzzCBCDecrypt checks Decrypt against crypto/cipher for arbitrary keys, IVs and
// ciphertexts (cut to whole blocks), in place.
func FuzzCBCDecrypt(f *testing.F) {
	fuzzCBC(f, false, 0, []byte("0123456789abcdef"), bytes.Repeat([]byte("ciphertext block"), 9))
}

// fuzzCBC is FuzzCBCDecrypt's and FuzzCBCEncrypt's body: the key size is 16, 24 or 32 by
// keySel, the key and IV the fuzzed bytes cut or zero-padded to length, the data cut to
// whole blocks; our CBC in place must equal crypto/cipher's.
func fuzzCBC(f *testing.F, encrypt bool, keySel byte, keyMat, data []byte) {
	if !Supported() {
		f.Skip("vgcm needs VAES, VPCLMULQDQ, AVX-512 F/BW/VL with OS support")
	}
	f.Add(keySel, keyMat, []byte("iv-iv-iv-iv-iv-!"), data)
	f.Fuzz(func(t *testing.T, keySel byte, keyMat, iv, data []byte) {
		key := make([]byte, 16+8*int(keySel%3))
		copy(key, keyMat)
		var iv16 [16]byte
		copy(iv16[:], iv)
		data = data[:len(data)/16*16]
		want := stdCBC(t, encrypt, key, iv16[:], data)
		buf := bytes.Clone(data)
		if k := mustCBCKey(t, key); encrypt {
			k.Encrypt(buf, buf, iv16[:])
		} else {
			k.Decrypt(buf, buf, iv16[:])
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("in place (encrypt %v) differs from crypto/cipher", encrypt)
		}
	})
}

// FuzzCBCEncrypt checks Encrypt against crypto/cipher for arbitrary keys, IVs and
// plaintexts (cut to whole blocks), in place.
func FuzzCBCEncrypt(f *testing.F) {
	fuzzCBC(f, true, 2, []byte("0123456789abcdef0123456789abcdef"), bytes.Repeat([]byte("plaintext block!"), 9))
}

// BenchmarkCBCEncrypt: ours against crypto/cipher's CBC encrypter on one 1408-byte packet
// (88 blocks), AES-128 and AES-256, in the same run.
func BenchmarkCBCEncrypt(b *testing.B) {
	skipUnsupported(b)
	for _, kl := range []int{16, 32} {
		key, iv, buf := make([]byte, kl), make([]byte, 16), make([]byte, 1408)
		k := mustCBCKey(b, key)
		blk, _ := aes.NewCipher(key)
		b.Run(fmt.Sprintf("AES-%d/ours", 8*kl), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				k.Encrypt(buf, buf, iv)
			}
		})
		b.Run(fmt.Sprintf("AES-%d/crypto-cipher", 8*kl), func(b *testing.B) {
			m := cipher.NewCBCEncrypter(blk, iv)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				m.(interface{ SetIV([]byte) }).SetIV(iv)
				m.CryptBlocks(buf, buf)
			}
		})
	}
}
