package sa

import (
	"fmt"
	"testing"
)

// The data path's lookups allocate nothing and take no lock (issue acceptance).
func TestLookupAllocs(t *testing.T) {
	c := NewController(2000)
	defer c.Close()
	var hs []Handle
	for spi := uint32(1); spi <= 1000; spi++ {
		hs = append(hs, addOne(c, gcmBundle(spi%2 == 1, spi, "198.51.100.1")))
	}
	r := c.NewReader()
	defer r.Close()
	dst := ip4("198.51.100.1")
	n := testing.AllocsPerRun(1000, func() {
		tb := r.Begin()
		if tb.Lookup(hs[10]) == nil || tb.LookupInbound(11, dst) == nil {
			panic("lookup failed")
		}
		r.End()
	})
	if n != 0 {
		t.Errorf("Begin+Lookup+LookupInbound+End: %v allocations per run, want 0", n)
	}
}

func benchTable(b *testing.B, n int) (*Controller, []Handle) {
	c := NewController(n + 1)
	hs := make([]Handle, 0, n)
	const chunk = 1024
	for start := 1; start <= n; start += chunk {
		var list []*Bundle
		for spi := start; spi < start+chunk && spi <= n; spi++ {
			list = append(list, gcmBundle(true, uint32(spi), "198.51.100.1"))
		}
		if err := c.AddSA(list, nil); err != nil {
			b.Fatal(err)
		}
		for _, x := range list {
			hs = append(hs, x.OffloadHandle)
		}
	}
	return c, hs
}

// BenchmarkLookup measures the send path's lookup by handle and the receive path's lookup
// by SPI + destination in tables of 1, 1k and 64k SAs.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 1024, 65536} {
		c, hs := benchTable(b, n)
		r := c.NewReader()
		dst := ip4("198.51.100.1")
		b.Run(fmt.Sprintf("handle/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			tb := r.Begin()
			for i := 0; b.Loop(); i++ {
				if tb.Lookup(hs[i%len(hs)]) == nil {
					b.Fatal("miss")
				}
			}
			r.End()
		})
		b.Run(fmt.Sprintf("spi+dst/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			tb := r.Begin()
			for i := 0; b.Loop(); i++ {
				if tb.LookupInbound(uint32(i%n)+1, dst) == nil {
					b.Fatal("miss")
				}
			}
			r.End()
		})
		b.Run(fmt.Sprintf("burst32/%d", n), func(b *testing.B) {
			// One Begin/End per burst of 32 lookups, as a stage does.
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tb := r.Begin()
				for j := 0; j < 32; j++ {
					if tb.LookupInbound(uint32((i*32+j)%n)+1, dst) == nil {
						b.Fatal("miss")
					}
				}
				r.End()
			}
		})
		r.Close()
		c.Close()
	}
}
