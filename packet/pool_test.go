package packet

import (
	"runtime"
	"sync"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

func TestPoolGetState(t *testing.T) {
	p := NewPool(SmallSize)
	b := p.Get()
	if b.Cap() != SmallSize || b.Len() != 0 || b.Headroom() != DefaultHeadroom || b.Tailroom() != SmallSize+DefaultTailroom {
		t.Fatalf("Cap %d Len %d Headroom %d Tailroom %d", b.Cap(), b.Len(), b.Headroom(), b.Tailroom())
	}
	if len(b.backing) != DefaultHeadroom+SmallSize+DefaultTailroom {
		t.Fatalf("backing %d, want %d", len(b.backing), DefaultHeadroom+SmallSize+DefaultTailroom)
	}
	if p.DataSize() != SmallSize {
		t.Fatalf("DataSize %d, want %d", p.DataSize(), SmallSize)
	}
	b.Release()
	if s := p.Stats(); s != (PoolStats{Gets: 1, Puts: 1, News: 1}) {
		t.Fatalf("stats %+v, want {1 1 1}", s)
	}
}

// R-TX-3, R-RX-5: a recycled buffer must not carry the previous packet's handle or status.
func TestReleaseClearsOOB(t *testing.T) {
	p := NewPool(64)
	b := p.Get()
	_ = b.SetData([]byte{1, 2, 3})
	b.Prepend(8)
	b.Tx = TxInfo{OffloadHandle: 0x11, TunnelHandle: 0x22, MSS: 1400, TcpHeaderOffset: 34,
		EspHeaderOffset: 5, NextHeader: 6, PadLength: 2, Status: ndis.StatusFailure, Reason: ReasonUnknownHandle}
	b.Rx = RxInfo{SaDeleteReq: true, CryptoDone: true, CryptoStatus: ndis.CryptoTransportESPAuthFailed,
		HeaderInfoSet: true, NextHeader: 4, Handle: 0x33, SeqHi: 7}
	b.Release()
	// Inspect the released buffer directly: Get may hand out a different one.
	if b.Tx != (TxInfo{}) || b.Rx != (RxInfo{}) {
		t.Fatalf("Release left Tx %+v Rx %+v", b.Tx, b.Rx)
	}
	if b.Len() != 0 || b.Headroom() != DefaultHeadroom {
		t.Fatalf("Release left Len %d Headroom %d", b.Len(), b.Headroom())
	}
	if b.pool != p || b.backing == nil {
		t.Fatal("Release dropped the pool or the backing array, which reuse needs")
	}
}

func TestDoublePutPanics(t *testing.T) {
	p := NewPool(64)
	b := p.Get()
	b.Release()
	mustPanic(t, "buffer released twice (double Put)", func() { b.Release() })
	mustPanic(t, "buffer released twice (double Put)", func() { p.Put(b) })
	if s := p.Stats(); s.Puts != 1 {
		t.Fatalf("Puts %d, want 1: a rejected Put must not count", s.Puts)
	}
	// After a Get the buffer is owned again and may be released once more.
	for i := 0; i < 4; i++ {
		c := p.Get()
		c.Release()
	}
}

func TestPutForeignBufferPanics(t *testing.T) {
	p, q := NewPool(64), NewPool(64)
	b := q.Get()
	mustPanic(t, "does not belong to this pool", func() { p.Put(b) })
	mustPanic(t, "does not belong to this pool", func() { p.Put(NewBuffer(64)) })
	b.Release()
}

func TestNegativeSizesPanic(t *testing.T) {
	mustPanic(t, "NewPool(-1): negative size", func() { NewPool(-1) })
	mustPanic(t, "NewBuffer(-1): negative size", func() { NewBuffer(-1) })
}

func TestPoolZeroAllocs(t *testing.T) {
	p := NewPool(SmallSize)
	// Warm up: a few buffers in the pool, and room in its stack for them.
	bs := make([]*Buffer, 8)
	for i := range bs {
		bs[i] = p.Get()
	}
	for _, b := range bs {
		b.Release()
	}
	news := p.Stats().News
	allocs := testing.AllocsPerRun(1000, func() {
		b := p.Get()
		_ = b.SetData([]byte{1, 2, 3, 4})
		b.Prepend(16)
		b.Append(16)
		b.Tx.OffloadHandle = 1
		b.Release()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Get/Release, want 0", allocs)
	}
	if got := p.Stats().News; got != news {
		t.Fatalf("News went from %d to %d in steady state", news, got)
	}
}

// Ownership passes between goroutines as it does between pipeline lanes; -race checks that
// Get, Put and the counters are safe, and that a buffer's state does not leak across owners.
func TestPoolConcurrent(t *testing.T) {
	const workers, rounds = 4, 2000
	p := NewPool(256)
	handoff := make(chan *Buffer, 64)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() { // producer: gets and fills
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				b := p.Get()
				if b.Len() != 0 || b.Tx != (TxInfo{}) || b.Rx != (RxInfo{}) {
					t.Errorf("Get returned a dirty buffer: Len %d Tx %+v Rx %+v", b.Len(), b.Tx, b.Rx)
				}
				_ = b.SetData([]byte{byte(i), byte(i >> 8)})
				b.Tx.OffloadHandle = uint64(i) + 1
				handoff <- b
			}
		}()
		go func() { // consumer: checks and releases
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				b := <-handoff
				if d := b.Bytes(); len(d) != 2 || uint64(d[0])|uint64(d[1])<<8 != b.Tx.OffloadHandle-1 {
					t.Errorf("frame % x does not match handle %d", d, b.Tx.OffloadHandle)
				}
				b.Release()
			}
		}()
	}
	wg.Wait()
	s := p.Stats()
	if s.Gets != workers*rounds || s.Puts != workers*rounds {
		t.Fatalf("stats %+v, want Gets = Puts = %d", s, workers*rounds)
	}
	if s.News == 0 || s.News > s.Gets {
		t.Fatalf("News %d, want between 1 and %d", s.News, s.Gets)
	}
}

// Reserve makes the buffers a run will need up front: then taking all of them and giving
// them back makes nothing and allocates nothing, and a garbage collection in between keeps
// them (a sync.Pool would have dropped them).
func TestPoolReserve(t *testing.T) {
	const n = 100
	p := NewPool(SmallSize)
	p.Reserve(n)
	if s := p.Stats(); s != (PoolStats{News: n}) {
		t.Fatalf("after Reserve(%d): %+v, want {0 0 %d}", n, s, n)
	}
	bs := make([]*Buffer, n)
	runtime.GC()
	runtime.GC()
	allocs := testing.AllocsPerRun(10, func() {
		for i := range bs {
			bs[i] = p.Get()
		}
		for _, b := range bs {
			b.Release()
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d Gets and Releases after Reserve, want 0", allocs, n)
	}
	if s := p.Stats(); s.News != n || s.Gets != s.Puts || s.Gets != 11*n {
		t.Fatalf("%+v, want News %d and Gets = Puts = %d", s, n, 11*n)
	}
	seen := make(map[*Buffer]bool)
	for i := range bs {
		bs[i] = p.Get()
		if seen[bs[i]] || bs[i].Cap() != SmallSize || bs[i].Len() != 0 {
			t.Fatalf("Get %d: buffer seen before %v, Cap %d, Len %d", i, seen[bs[i]], bs[i].Cap(), bs[i].Len())
		}
		seen[bs[i]] = true
	}
	p.Reserve(n) // all in use: n more
	if s := p.Stats(); s.News != 2*n {
		t.Fatalf("News %d after a second Reserve with all %d in use, want %d", s.News, n, 2*n)
	}
	p.Reserve(n) // enough free already: nothing new
	if s := p.Stats(); s.News != 2*n {
		t.Fatalf("News %d after a Reserve that had enough, want %d", s.News, 2*n)
	}
	for _, b := range bs {
		b.Release()
	}
}

// BenchmarkPoolGetRelease measures the per-packet cost of the buffer life cycle alone.
func BenchmarkPoolGetRelease(b *testing.B) {
	p := NewPool(SmallSize)
	b.ReportAllocs()
	for b.Loop() {
		buf := p.Get()
		buf.Prepend(16)
		buf.Release()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkPoolCrossGoroutine is the shape of the data path: one goroutine gets buffers (the
// host framing packets, or a lane cutting LSO segments) and another releases them (the
// completion side), handed over in bursts of 32 through a channel.
func BenchmarkPoolCrossGoroutine(b *testing.B) {
	p := NewPool(SmallSize)
	const burst = 32
	ch := make(chan *[burst]*Buffer, 64)
	back := make(chan *[burst]*Buffer, 64)
	for range 64 {
		back <- new([burst]*Buffer)
	}
	done := make(chan struct{})
	go func() {
		for bs := range ch {
			for _, buf := range bs {
				buf.Release()
			}
			back <- bs
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += burst {
		bs := <-back
		for j := range bs {
			bs[j] = p.Get()
		}
		ch <- bs
	}
	close(ch)
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
