package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"testing"
)

// etmBenchSuites are the encrypt-then-MAC SA shapes the benchmarks report.
var etmBenchSuites = []etmSuite{
	{"aes128cbc-sha256", AESCBC, 16, HMACSHA256_128},
	{"aes256cbc-sha1", AESCBC, 32, HMACSHA1_96},
	{"null-sha256", NULL, 0, HMACSHA256_128},
}

// rawETM is the raw limit: the same cryptography on the same bytes with nothing of ours,
// crypto/cipher's CBC BlockMode made once (SetIV per packet) and crypto/hmac made once (Reset
// per packet), as fast as the standard library goes with no ESP around it. Its Seal does not
// make an IV (ours encrypts one block for it).
type rawETM struct {
	enc, dec interface {
		cipher.BlockMode
		SetIV([]byte)
	}
	mac    hash.Hash
	icvLen int
	sum    []byte
}

func newRawETM(b testing.TB, r refSA) *rawETM {
	x := &rawETM{icvLen: r.icvLen(), sum: make([]byte, 0, 32)}
	if r.integ == HMACSHA1_96 {
		x.mac = hmac.New(sha1.New, r.macKey)
	} else {
		x.mac = hmac.New(sha256.New, r.macKey)
	}
	if r.alg == AESCBC {
		block, err := aes.NewCipher(r.encKey)
		if err != nil {
			b.Fatal(err)
		}
		iv := make([]byte, 16)
		x.enc = cipher.NewCBCEncrypter(block, iv).(interface {
			cipher.BlockMode
			SetIV([]byte)
		})
		x.dec = cipher.NewCBCDecrypter(block, iv).(interface {
			cipher.BlockMode
			SetIV([]byte)
		})
	}
	return x
}

func (x *rawETM) seal(pkt []byte, off int) []byte {
	n := len(pkt)
	if x.enc != nil {
		x.enc.SetIV(pkt[HeaderLen:off])
		x.enc.CryptBlocks(pkt[off:], pkt[off:])
	}
	x.mac.Reset()
	x.mac.Write(pkt)
	x.sum = x.mac.Sum(x.sum[:0])
	return append(pkt, x.sum[:x.icvLen]...)[:n+x.icvLen]
}

func (x *rawETM) open(pkt []byte, off int) bool {
	n := len(pkt) - x.icvLen
	x.mac.Reset()
	x.mac.Write(pkt[:n])
	x.sum = x.mac.Sum(x.sum[:0])
	if subtle.ConstantTimeCompare(x.sum[:x.icvLen], pkt[n:]) != 1 {
		return false
	}
	if x.dec != nil {
		x.dec.SetIV(pkt[HeaderLen:off])
		x.dec.CryptBlocks(pkt[off:n], pkt[off:n])
	}
	return true
}

// BenchmarkSealCBC seals 64- and 1400-byte payloads in place on one lane for each suite
// ("ours", through Seal: IV generation, CBC, HMAC, lane pool) beside the raw limit ("raw":
// crypto/cipher CBC and a reused crypto/hmac on the same bytes). b.SetBytes counts payload
// bytes. Ours must report 0 allocs/op.
func BenchmarkSealCBC(b *testing.B) {
	for _, su := range etmBenchSuites {
		for _, size := range []int{64, 1400} {
			tr, r := mustETM(b, su, false, 1)
			pkt := frameETM(tr, 1, 1, make([]byte, size), 4)
			b.Run(fmt.Sprintf("%s/%d/ours", su.name, size), func(b *testing.B) {
				l := new(lane)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := tr.Seal(&l.s, pkt, 0); err != nil {
						b.Fatal(err)
					}
				}
				reportPPS(b)
			})
			b.Run(fmt.Sprintf("%s/%d/raw", su.name, size), func(b *testing.B) {
				x := newRawETM(b, r)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					x.seal(pkt, tr.PayloadOffset())
				}
				reportPPS(b)
			})
		}
	}
}

// BenchmarkOpenCBC verifies and decrypts 64- and 1400-byte payloads in place, ours beside the
// raw limit, for each suite. Each iteration first copies the sealed packet into the receive
// buffer (both sides pay it), since opening decrypts in place.
func BenchmarkOpenCBC(b *testing.B) {
	for _, su := range etmBenchSuites {
		for _, size := range []int{64, 1400} {
			tr, r := mustETM(b, su, false, 1)
			sealed, err := tr.Seal(new(Scratch), frameETM(tr, 1, 1, make([]byte, size), 4), 0)
			if err != nil {
				b.Fatal(err)
			}
			rx := make([]byte, len(sealed))
			b.Run(fmt.Sprintf("%s/%d/ours", su.name, size), func(b *testing.B) {
				l := new(lane)
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
			b.Run(fmt.Sprintf("%s/%d/raw", su.name, size), func(b *testing.B) {
				x := newRawETM(b, r)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					copy(rx, sealed)
					if !x.open(rx, tr.PayloadOffset()) {
						b.Fatal("raw open failed")
					}
				}
				reportPPS(b)
			})
		}
	}
}
