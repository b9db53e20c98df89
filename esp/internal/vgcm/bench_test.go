package vgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"
)

var benchSizes = []int{64, 576, 1400, 9000}

// benchSetup returns an AES-128 Key and the matching crypto/cipher AEAD (the ESP default
// is AES-GCM-128 with a 16-byte ICV), a nonce and 8 bytes of AAD (SPI ‖ sequence number).
func benchSetup(b *testing.B) (*Key, cipher.AEAD, []byte, []byte) {
	skipUnsupported(b)
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(i * 7)
	}
	k := mustKey(b, key)
	blk, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(blk)
	return k, g, make([]byte, 12), []byte{0, 0, 0x43, 0x21, 0, 0, 0, 1}
}

// BenchmarkSeal seals in place, as the ESP engine does, with this package ("vgcm") and
// with crypto/cipher ("stdlib").
func BenchmarkSeal(b *testing.B) {
	k, g, nonce, aad := benchSetup(b)
	for _, n := range benchSizes {
		buf := make([]byte, n+16)
		b.Run(fmt.Sprintf("%d/vgcm", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				k.Seal(buf, nonce, buf[:n], aad, 16)
			}
		})
		b.Run(fmt.Sprintf("%d/stdlib", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				g.Seal(buf[:0], nonce, buf[:n], aad)
			}
		})
	}
}

// BenchmarkOpen opens a valid packet into a second buffer: in place, the first iteration
// would decrypt the packet and every later one would open a forgery. The work is the same
// as in place (one pass over the data either way).
func BenchmarkOpen(b *testing.B) {
	k, g, nonce, aad := benchSetup(b)
	for _, n := range benchSizes {
		sealed := make([]byte, n+16)
		k.Seal(sealed, nonce, sealed[:n], aad, 16)
		out := make([]byte, n)
		b.Run(fmt.Sprintf("%d/vgcm", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if !k.Open(out, nonce, sealed, aad, 16) {
					b.Fatal("open failed")
				}
			}
		})
		b.Run(fmt.Sprintf("%d/stdlib", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := g.Open(out[:0], nonce, sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGMAC authenticates 9216 bytes (a jumbo frame) as AAD with no text (RFC 4543).
func BenchmarkGMAC(b *testing.B) {
	k, g, nonce, _ := benchSetup(b)
	data := make([]byte, 9216)
	tag := make([]byte, 16)
	b.Run("vgcm", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			k.Seal(tag, nonce, nil, data, 16)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			g.Seal(tag[:0], nonce, nil, data)
		}
	})
}
