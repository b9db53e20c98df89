package bench

import (
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/stage"
)

// The Go benchmark suite mirrors the main rows of `ov2 bench`, on the same engine and raw
// loops, so that a regression shows in benchstat:
//
//	go test -run XXX -bench . -count 6 ./bench > new.txt && benchstat old.txt new.txt
//
// One op is one packet: ns/op is the time per packet at full speed, allocs/op the
// allocations per packet; Mpps is reported beside them. Compare BenchmarkEngine's Mpps
// with BenchmarkRaw's of the same size and operation (seal for encrypt, open for decrypt)
// for the ratio `ov2 bench` prints.

var suiteSizes = []Size{{Kind: Fixed, Bytes: 64}, {Kind: Fixed, Bytes: 1400}, {Kind: IMIX}}

func BenchmarkEngine(b *testing.B) {
	for _, mode := range []Mode{Encrypt, Decrypt} {
		for _, size := range suiteSizes {
			for _, lanes := range []int{1, 2} {
				for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
					name := fmt.Sprintf("%s/%s/%s/%dlane/%s", mode, AES128GCM, size.Label(), lanes, pl)
					b.Run(name, func(b *testing.B) {
						benchEngine(b, rowSpec{size: size, mode: mode, algo: AES128GCM, lanes: lanes, pl: pl})
					})
				}
			}
		}
	}
}

func benchEngine(b *testing.B, spec rowSpec) {
	o, err := Options{}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	e, err := newEngine(spec, o, false)
	if err != nil {
		b.Fatal(err)
	}
	defer e.close()
	e.closedN(4 * e.units) // warm the caches, the pools and the lanes
	b.SetBytes(int64(spec.algo.meanWire(spec.size)))
	b.ReportAllocs()
	b.ResetTimer()
	e.closedN(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
	e.stop()
	if _, _, err := e.accounting(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRaw(b *testing.B) {
	for _, op := range []RawOp{RawSeal, RawOpen} {
		for _, size := range suiteSizes {
			b.Run(fmt.Sprintf("%s/%s", op, size.Label()), func(b *testing.B) {
				l, err := newRawLoop(size, AES128GCM, op)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size.MeanWire()))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					l.step(i)
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
			})
		}
	}
}

// BenchmarkSuites is the issue 11 suites' rows at 64 and 1400 B, one lane fused, each next to
// its raw limit (crypto/aes CBC and crypto/hmac on the same bytes), measured one after the
// other so that a ratio compares figures taken moments apart:
//
//	go test -run XXX -bench Suites -count 6 ./bench
func BenchmarkSuites(b *testing.B) {
	for _, a := range []Algo{AES128CBCSHA256, AES256CBCSHA1, NULLSHA256, AHSHA256} {
		for _, mode := range []Mode{Encrypt, Decrypt} {
			for _, size := range suiteSizes[:2] {
				b.Run(fmt.Sprintf("%s/%s/%s/engine", a, mode, size.Label()), func(b *testing.B) {
					benchEngine(b, rowSpec{size: size, mode: mode, algo: a, lanes: 1, pl: stage.Fused})
				})
				b.Run(fmt.Sprintf("%s/%s/%s/raw", a, mode, size.Label()), func(b *testing.B) {
					l, err := newRawLoop(size, a, rawOpFor(mode))
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(a.meanWire(size)))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						l.step(i)
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
				})
			}
		}
	}
}
