package sa

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// R-SA-1, R-SA-5, R-SA-7: 4 goroutines look SAs up in a tight loop (by handle and by SPI +
// destination) while the control goroutine adds and deletes 10,000 SAs. Checked:
//   - no lookup ever returns an SA whose DELETE_SA had returned before the read section
//     began;
//   - every SA a lookup returns has its key intact for the whole read section;
//   - after each DeleteSA returns, the table has no trace of the SA and its key is zero.
//
// Run it under -race: the key bytes are written by Wipe on the control goroutine and read
// by KeyZeroed on the readers, so a broken grace period is a reported data race.
func TestConcurrentLookupsDuringAddDelete(t *testing.T) {
	const total = 10000
	const batch = 50
	c := NewController(4096)
	defer c.Close()

	// Handles whose DeleteSA has returned, published as an immutable slice.
	var deleted atomic.Pointer[[]Handle]
	var live atomic.Pointer[[]Handle]
	deleted.Store(&[]Handle{})
	live.Store(&[]Handle{})
	var stop atomic.Bool
	var lookups, hits atomic.Uint64

	var wg sync.WaitGroup
	errs := make(chan string, 16)
	report := func(msg string) { // never blocks a reader: the first 16 reports are enough
		select {
		case errs <- msg:
		default:
		}
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := c.NewReader()
			defer r.Close()
			rng := rand.New(rand.NewPCG(seed, 1))
			dst := ip4("198.51.100.1")
			for !stop.Load() {
				gone := *deleted.Load() // taken before Begin: these were deleted before it
				cur := *live.Load()
				tb := r.Begin()
				for i := 0; i < 32; i++ {
					var a *SA
					switch {
					case len(gone) > 0 && i%4 == 0:
						h := gone[rng.IntN(len(gone))]
						if a = tb.Lookup(h); a != nil {
							report("lookup returned an SA after its DeleteSA returned")
						}
						continue
					case len(cur) > 0 && i%2 == 0:
						a = tb.Lookup(cur[rng.IntN(len(cur))])
					default:
						a = tb.LookupInbound(uint32(rng.IntN(total)+1), dst)
					}
					lookups.Add(1)
					if a != nil {
						hits.Add(1)
						if a.Transform.KeyZeroed() {
							report("SA returned by a lookup has a zeroed key inside the read section")
						}
					}
				}
				r.End()
			}
		}(uint64(g))
	}

	var gone []Handle
	pending := make([]Handle, 0, batch)
	const addList = 10 // bundles per ADD_SA request: 1,000 table publishes for the adds
	for spi := uint32(1); spi <= total; spi += addList {
		list := make([]*Bundle, addList)
		for i := range list {
			list[i] = gcmBundle((spi+uint32(i))%2 == 0, spi+uint32(i), "198.51.100.1")
		}
		if err := c.AddSA(list, nil); err != nil {
			t.Fatal(err)
		}
		for _, b := range list {
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			pending = append(pending, b.OffloadHandle)
		}
		cur := append([]Handle(nil), pending...)
		live.Store(&cur)
		if len(pending) == batch {
			tb := c.Snapshot()
			sas := make([]*SA, len(pending))
			for i, h := range pending {
				sas[i] = tb.Lookup(h)
			}
			if err := c.DeleteSA(pending); err != nil {
				t.Fatal(err)
			}
			after := c.Snapshot()
			for i, h := range pending {
				if after.Lookup(h) != nil || (sas[i].Inbound && after.LookupInbound(sas[i].SPI, ip4("198.51.100.1")) != nil) {
					t.Fatalf("handle %v still in the table after DeleteSA returned", h)
				}
				if !sas[i].Transform.KeyZeroed() {
					t.Fatalf("handle %v: key not zero after DeleteSA returned", h)
				}
			}
			gone = append(gone, pending...)
			if len(gone) > 512 {
				gone = gone[len(gone)-512:]
			}
			g := append([]Handle(nil), gone...)
			deleted.Store(&g)
			pending = pending[:0]
			live.Store(&[]Handle{})
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if n := c.Snapshot().Len(); n != 0 {
		t.Errorf("%d SAs left, want 0", n)
	}
	if lookups.Load() == 0 || hits.Load() == 0 {
		t.Errorf("readers did %d lookups with %d hits: the test exercised nothing", lookups.Load(), hits.Load())
	}
	t.Logf("%d lookups, %d hits", lookups.Load(), hits.Load())
}
