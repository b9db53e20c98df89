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

// stdCBCDecrypt is crypto/cipher's CBC decryption, the reference.
func stdCBCDecrypt(t testing.TB, key, iv, src []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(src))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, src)
	return out
}

// stdCBCEncrypt is crypto/cipher's CBC encryption, the reference.
func stdCBCEncrypt(t testing.TB, key, iv, src []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(src))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, src)
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

// SP 800-38A F.2.2, F.2.4, F.2.6.
func TestCBCDecryptSP80038A(t *testing.T) {
	skipUnsupported(t)
	for _, c := range sp80038aCBC.cases {
		key, _ := hex.DecodeString(c.key)
		ct, _ := hex.DecodeString(c.ct)
		ivb, _ := hex.DecodeString(sp80038aCBC.iv)
		want, _ := hex.DecodeString(sp80038aCBC.plain)
		k := mustCBCKey(t, key)
		got := make([]byte, len(ct))
		k.Decrypt(got, ct, ivb)
		if !bytes.Equal(got, want) {
			t.Errorf("AES-%d: got %x, want %x", 8*len(key), got, want)
		}
		k.Decrypt(ct, ct, ivb) // in place
		if !bytes.Equal(ct, want) {
			t.Errorf("AES-%d in place: got %x, want %x", 8*len(key), ct, want)
		}
	}
}

// Decrypt equals crypto/cipher's CBC decryption for every key size, lengths 0..300 blocks
// around the 8-block steps, in place and out of place, and never touches bytes past the
// input's end in dst or the IV.
func TestCBCDecryptDifferential(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(21, 22))
	for _, kl := range []int{16, 24, 32} {
		for blocks := 0; blocks <= 300; blocks += 1 + blocks/16 {
			key, iv := randBytes(r, kl), randBytes(r, 16)
			src := randBytes(r, 16*blocks)
			want := stdCBCDecrypt(t, key, iv, src)
			k := mustCBCKey(t, key)
			ivCopy := bytes.Clone(iv)

			dst := make([]byte, len(src)+16)
			for i := range dst {
				dst[i] = 0xa5
			}
			k.Decrypt(dst, src, iv)
			if !bytes.Equal(dst[:len(src)], want) || !bytes.Equal(dst[len(src):], bytes.Repeat([]byte{0xa5}, 16)) {
				t.Fatalf("AES-%d, %d blocks: out of place differs from crypto/cipher (or wrote past the end)", 8*kl, blocks)
			}
			buf := bytes.Clone(src)
			k.Decrypt(buf, buf, iv)
			if !bytes.Equal(buf, want) {
				t.Fatalf("AES-%d, %d blocks: in place differs from crypto/cipher", 8*kl, blocks)
			}
			if !bytes.Equal(iv, ivCopy) {
				t.Fatalf("AES-%d, %d blocks: the IV changed", 8*kl, blocks)
			}
		}
	}
}

// The slice contract: bad lengths and partial overlaps panic, the zero CBCKey panics,
// Wipe zeroes the round keys.
func TestCBCDecryptContract(t *testing.T) {
	skipUnsupported(t)
	k := mustCBCKey(t, make([]byte, 16))
	buf := make([]byte, 64)
	iv := make([]byte, 16)
	for name, f := range map[string]func(){
		"partial block":   func() { k.Decrypt(buf, buf[:20], iv) },
		"short dst":       func() { k.Decrypt(buf[:16], buf[16:48], iv) },
		"short IV":        func() { k.Decrypt(buf, buf, iv[:8]) },
		"partial overlap": func() { k.Decrypt(buf[16:], buf[:32], iv) },
		"zero key":        func() { new(CBCKey).Decrypt(buf, buf, iv) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
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
}

// FuzzCBCDecrypt checks Decrypt against crypto/cipher for arbitrary keys, IVs and
// ciphertexts (cut to whole blocks), in place.
func FuzzCBCDecrypt(f *testing.F) {
	if !Supported() {
		f.Skip("vgcm needs VAES, VPCLMULQDQ, AVX-512 F/BW/VL with OS support")
	}
	f.Add(byte(0), []byte("0123456789abcdef"), []byte("iv-iv-iv-iv-iv-!"), bytes.Repeat([]byte("ciphertext block"), 9))
	f.Fuzz(func(t *testing.T, keySel byte, keyMat, iv, ct []byte) {
		key := make([]byte, 16+8*int(keySel%3))
		copy(key, keyMat)
		var iv16 [16]byte
		copy(iv16[:], iv)
		ct = ct[:len(ct)/16*16]
		want := stdCBCDecrypt(t, key, iv16[:], ct)
		buf := bytes.Clone(ct)
		mustCBCKey(t, key).Decrypt(buf, buf, iv16[:])
		if !bytes.Equal(buf, want) {
			t.Fatalf("in-place Decrypt differs from crypto/cipher")
		}
	})
}

// SP 800-38A F.2.1, F.2.3, F.2.5, out of place and in place.
func TestCBCEncryptSP80038A(t *testing.T) {
	skipUnsupported(t)
	for _, c := range sp80038aCBC.cases {
		key, _ := hex.DecodeString(c.key)
		want, _ := hex.DecodeString(c.ct)
		ivb, _ := hex.DecodeString(sp80038aCBC.iv)
		pt, _ := hex.DecodeString(sp80038aCBC.plain)
		k := mustCBCKey(t, key)
		got := make([]byte, len(pt))
		k.Encrypt(got, pt, ivb)
		if !bytes.Equal(got, want) {
			t.Errorf("AES-%d: got %x, want %x", 8*len(key), got, want)
		}
		k.Encrypt(pt, pt, ivb)
		if !bytes.Equal(pt, want) {
			t.Errorf("AES-%d in place: got %x, want %x", 8*len(key), pt, want)
		}
	}
}

// Encrypt equals crypto/cipher's CBC encryption for every key size and 0..300 blocks, in
// place and out of place, writes nothing past the input's end, leaves the IV alone, and
// Decrypt takes it back.
func TestCBCEncryptDifferential(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(31, 32))
	for _, kl := range []int{16, 24, 32} {
		for blocks := 0; blocks <= 300; blocks += 1 + blocks/16 {
			key, iv := randBytes(r, kl), randBytes(r, 16)
			src := randBytes(r, 16*blocks)
			want := stdCBCEncrypt(t, key, iv, src)
			k := mustCBCKey(t, key)
			ivCopy, srcCopy := bytes.Clone(iv), bytes.Clone(src)

			dst := bytes.Repeat([]byte{0xa5}, len(src)+16)
			k.Encrypt(dst, src, iv)
			if !bytes.Equal(dst[:len(src)], want) || !bytes.Equal(dst[len(src):], bytes.Repeat([]byte{0xa5}, 16)) {
				t.Fatalf("AES-%d, %d blocks: out of place differs from crypto/cipher (or wrote past the end)", 8*kl, blocks)
			}
			if !bytes.Equal(src, srcCopy) || !bytes.Equal(iv, ivCopy) {
				t.Fatalf("AES-%d, %d blocks: the source or the IV changed", 8*kl, blocks)
			}
			buf := bytes.Clone(src)
			k.Encrypt(buf, buf, iv)
			if !bytes.Equal(buf, want) {
				t.Fatalf("AES-%d, %d blocks: in place differs from crypto/cipher", 8*kl, blocks)
			}
			k.Decrypt(buf, buf, iv)
			if !bytes.Equal(buf, src) {
				t.Fatalf("AES-%d, %d blocks: Decrypt does not take Encrypt back", 8*kl, blocks)
			}
		}
	}
}

// Encrypt's slice contract is Decrypt's; Wipe clears both schedules.
func TestCBCEncryptContract(t *testing.T) {
	skipUnsupported(t)
	k := mustCBCKey(t, make([]byte, 32))
	buf := make([]byte, 64)
	iv := make([]byte, 16)
	for name, f := range map[string]func(){
		"partial block":   func() { k.Encrypt(buf, buf[:20], iv) },
		"short dst":       func() { k.Encrypt(buf[:16], buf[16:48], iv) },
		"short IV":        func() { k.Encrypt(buf, buf, iv[:8]) },
		"partial overlap": func() { k.Encrypt(buf[16:], buf[:32], iv) },
		"zero key":        func() { new(CBCKey).Encrypt(buf, buf, iv) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	k.Wipe()
	if !k.Zeroed() {
		t.Fatal("Wipe left key material")
	}
	var onlyEnc CBCKey
	onlyEnc.ek[5] = 1
	if onlyEnc.Zeroed() {
		t.Fatal("Zeroed misses the encryption round keys")
	}
}

// FuzzCBCEncrypt checks Encrypt against crypto/cipher for arbitrary keys, IVs and
// plaintexts (cut to whole blocks), in place.
func FuzzCBCEncrypt(f *testing.F) {
	if !Supported() {
		f.Skip("vgcm needs VAES, VPCLMULQDQ, AVX-512 F/BW/VL with OS support")
	}
	f.Add(byte(2), []byte("0123456789abcdef0123456789abcdef"), []byte("iv-iv-iv-iv-iv-!"), bytes.Repeat([]byte("plaintext block!"), 9))
	f.Fuzz(func(t *testing.T, keySel byte, keyMat, iv, pt []byte) {
		key := make([]byte, 16+8*int(keySel%3))
		copy(key, keyMat)
		var iv16 [16]byte
		copy(iv16[:], iv)
		pt = pt[:len(pt)/16*16]
		want := stdCBCEncrypt(t, key, iv16[:], pt)
		buf := bytes.Clone(pt)
		mustCBCKey(t, key).Encrypt(buf, buf, iv16[:])
		if !bytes.Equal(buf, want) {
			t.Fatalf("in-place Encrypt differs from crypto/cipher")
		}
	})
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
