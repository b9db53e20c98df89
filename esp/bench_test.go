package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"
)

// benchSizes are the payload sizes the benchmarks report: a small packet, a medium one and a
// full-MTU one.
var benchSizes = []int{64, 512, 1400}

// benchTransforms are the SA shapes the benchmarks compare.
var benchTransforms = []struct {
	name string
	p    Params
}{
	{"AES-GCM-128", Params{Alg: AESGCM, KeyMat: make([]byte, 20)}},
	{"AES-GCM-256", Params{Alg: AESGCM, KeyMat: make([]byte, 36)}},
	{"GMAC", Params{Alg: AESGMAC, KeyMat: make([]byte, 20)}},
	{"AES-GCM-128-ICV8", Params{Alg: AESGCM, KeyMat: make([]byte, 20), ICVLen: 8}},
}

// benchImpls are the implementations the benchmarks compare, with the suffix each adds to a
// sub-benchmark name. The stdlib names carry no suffix so that they stay comparable with runs
// from before the portable implementation existed; "AES-GCM-128-portable/1400" is the same SA
// and packet on the portable core. Together they make the ImplAuto rule a measured fact.
var benchImpls = []struct {
	impl   Impl
	suffix string
}{
	{ImplStdlib, ""},
	{ImplPortable, "-portable"},
}

func reportPPS(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkt/s")
}

// BenchmarkSeal measures Seal in place on one lane, for every SA shape, implementation and
// size; b.SetBytes counts payload bytes only. Sealing the same buffer over and over
// re-encrypts the previous ciphertext, which costs the same as sealing fresh plaintext.
func BenchmarkSeal(b *testing.B) {
	for _, c := range benchTransforms {
		for _, im := range benchImpls {
			for _, size := range benchSizes {
				b.Run(fmt.Sprintf("%s%s/%d", c.name, im.suffix, size), func(b *testing.B) {
					p := c.p
					p.Impl = im.impl
					tr := mustTransform(b, p)
					l := new(lane)
					pkt := testPacket(size, 1)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := tr.Seal(&l.s, pkt, 0); err != nil {
							b.Fatal(err)
						}
					}
					reportPPS(b)
				})
			}
		}
	}
}

// BenchmarkOpen measures Open in place, for every SA shape, implementation and size. Open
// consumes its input (it decrypts in place), so each iteration first copies the sealed packet
// into the receive buffer, the way a NIC gets a fresh buffer per packet; that copy is
// included in the time.
func BenchmarkOpen(b *testing.B) {
	for _, c := range benchTransforms {
		for _, im := range benchImpls {
			for _, size := range benchSizes {
				b.Run(fmt.Sprintf("%s%s/%d", c.name, im.suffix, size), func(b *testing.B) {
					p := c.p
					p.Impl = im.impl
					tr := mustTransform(b, p)
					l := new(lane)
					sealed, err := tr.Seal(&l.s, testPacket(size, 1), 0)
					if err != nil {
						b.Fatal(err)
					}
					rx := make([]byte, len(sealed))
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						copy(rx, sealed)
						if _, err := tr.Open(&l.s, rx, 0); err != nil {
							b.Fatal(err)
						}
					}
					reportPPS(b)
				})
			}
		}
	}
}

// BenchmarkStdlibGCMSeal is the raw limit Seal is compared against in the same run: a plain
// crypto/cipher AES-GCM-128 Seal in place with a preallocated nonce and 8-byte AAD, no ESP.
func BenchmarkStdlibGCMSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			block, err := aes.NewCipher(make([]byte, 16))
			if err != nil {
				b.Fatal(err)
			}
			g, err := cipher.NewGCM(block)
			if err != nil {
				b.Fatal(err)
			}
			nonce, aad := make([]byte, 12), make([]byte, 8)
			buf := make([]byte, size, size+16)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				g.Seal(buf[:0], nonce, buf, aad)
			}
			reportPPS(b)
		})
	}
}
