package ah

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// BenchmarkInsert and BenchmarkVerify measure AH with HMAC-SHA-256-128 (and AES-GMAC-128 for
// comparison) on IPv4 packets with 64- and 1400-byte payloads, ours (header walk, canonical
// image, HMAC through the lane pool) beside the raw limit (crypto/hmac, made once and Reset
// per packet, over the same bytes, with no header handling). b.SetBytes counts payload
// bytes; ours must report 0 allocs/op.
func BenchmarkInsert(b *testing.B) { benchAH(b, false) }

// BenchmarkVerify: see BenchmarkInsert.
func BenchmarkVerify(b *testing.B) { benchAH(b, true) }

func benchAH(b *testing.B, verify bool) {
	for _, su := range []suite{{"sha256", esp.HMACSHA256_128}, {"gmac128", esp.GMAC128}} {
		for _, size := range []int{64, 1400} {
			tr, key := mustAH(b, su, false, 1)
			pkt := v4(nil, tr.HeaderLen(false), 17, 1, 1, make([]byte, size))
			if _, err := tr.Insert(new(Scratch), pkt, 0); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d/ours", su.name, size), func(b *testing.B) {
				l := new(lane)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if verify {
						_, err = tr.Verify(&l.s, pkt, 0)
					} else {
						_, err = tr.Insert(&l.s, pkt, 0)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkt/s")
			})
			if su.integ != esp.HMACSHA256_128 {
				continue
			}
			b.Run(fmt.Sprintf("%s/%d/raw", su.name, size), func(b *testing.B) {
				m := hmac.New(sha256.New, key)
				sum := make([]byte, 0, 32)
				icv := pkt[32:48]
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					m.Reset()
					m.Write(pkt)
					sum = m.Sum(sum[:0])
					if verify && subtle.ConstantTimeCompare(sum[:16], icv) == 2 {
						b.Fatal("unreachable")
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkt/s")
			})
		}
	}
}
