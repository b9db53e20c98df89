package fastpath_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
)

func netipAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// dstOf is an IPv4 packet's destination.
func dstOf(ip []byte) netip.Addr { return netip.AddrFrom4([4]byte(ip[16:20])) }

// spiOf is the SPI of a sealed IPv4 transport packet (0 for anything else).
func spiOf(ip []byte) uint32 {
	if len(ip) < 28 || ip[0]>>4 != 4 || ip[9] != 50 {
		return 0
	}
	return binary.BigEndian.Uint32(ip[20:])
}

// Reload while packets flow on two queues: one SA kept, one removed, one added. The kept
// SA's sequence numbers go on; after Reload no packet is sealed or opened with the removed
// SA; the added one seals at once; and every packet given to Protect comes back exactly
// once, sealed, in clear, or failed with a counted reason.
func TestReloadWhileFlowing(t *testing.T) {
	sa := func(spi int, dst string) string {
		return fmt.Sprintf("src 10.0.0.1 dst %s proto esp spi 0x%x aead 'rfc4106(gcm(aes))' %s 128\n", dst, spi, key128)
	}
	before := sa(0x501, "10.0.1.2") + sa(0x502, "10.0.2.2")
	after := sa(0x501, "10.0.1.2") + sa(0x503, "10.0.3.2")

	var (
		mu              sync.Mutex
		sealedBySPI     = map[uint32]int{}
		reloaded        atomic.Bool
		removedAfter    atomic.Int64 // 0x502 packets completing after Reload returned
		protected, back atomic.Int64
		wire            = make(chan *packet.Buffer, 4096)
	)
	cfg := fastpath.Config{SAs: parse(t, before), Queues: 2,
		Protected: func(b fastpath.Burst) {
			for i := range b.Results {
				r := &b.Results[i]
				back.Add(1)
				if r.Failed {
					continue
				}
				spi := spiOf(r.Frame)
				mu.Lock()
				sealedBySPI[spi]++
				mu.Unlock()
				if spi == 0x502 && reloaded.Load() {
					removedAfter.Add(1)
				}
				if spi != 0 {
					select {
					case wire <- r.Take():
					default: // the test's wire is full: dropped here, not by the path
					}
				}
			}
		},
	}
	p, err := fastpath.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var errs atomic.Int64
	wg.Add(1)
	go func() { // the producer: round robin over three destinations
		defer wg.Done()
		dsts := []string{"10.0.1.2", "10.0.2.2", "10.0.3.2"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				p.Flush()
				return
			default:
			}
			pkt := udpSeq("10.0.0.1", dsts[i%3], 200, uint64(i))
			out, err := p.Queue(0).Protect(pkt, 0, uint64(i))
			if errors.Is(err, fastpath.ErrWrongQueue) {
				out, err = p.Queue(out.Queue).Protect(pkt, 0, uint64(i))
			}
			if err != nil {
				errs.Add(1)
				continue
			}
			protected.Add(1)
			if i%64 == 0 {
				p.Flush()
			}
		}
	}()
	var wireWG sync.WaitGroup
	wireWG.Add(1)
	go func() { // the wire back into the path: the SAs serve both directions
		defer wireWG.Done()
		for b := range wire {
			p.Queue(fastpath.QueueOf(netipAddr("10.0.0.1"), dstOf(b.Bytes()), 2)).UnprotectBuffer(b, 0) // it owns b, error or not
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); protected.Load() < 20000 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	seqBefore := p.Stats().Out[0].NextSeq
	res, err := p.Reload(parse(t, after))
	reloaded.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Removed != 1 || res.Kept != 1 {
		t.Errorf("reload: %+v, want 1 added, 1 removed, 1 kept", res)
	}
	for deadline := time.Now().Add(10 * time.Second); protected.Load() < 40000 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait() // the producer; the wire goroutine ends below
	p.Stop()
	close(wire)
	wireWG.Wait()

	st := p.Stats()
	if errs.Load() != 0 {
		t.Errorf("%d Protect errors", errs.Load())
	}
	if n := st.Sealed.Packets + st.Clear.Packets + st.FailedTotal(); n != uint64(protected.Load()) || back.Load() != protected.Load() {
		t.Errorf("%d protected, %d came back (%d sealed, %d clear, %d failed %v)", protected.Load(), back.Load(), st.Sealed.Packets, st.Clear.Packets, st.FailedTotal(), st.Failed)
	}
	for r, n := range st.Failed {
		if n != 0 && packet.Reason(r) != packet.ReasonUnknownHandle {
			t.Errorf("%d failed with %v", n, packet.Reason(r))
		}
	}
	if removedAfter.Load() != 0 {
		t.Errorf("%d packets sealed with the removed SA came back after Reload", removedAfter.Load())
	}
	if sealedBySPI[0x503] == 0 || sealedBySPI[0x501] == 0 || sealedBySPI[0x502] == 0 {
		t.Errorf("sealed by SPI: %v", sealedBySPI)
	}
	if len(st.Out) != 2 || st.Out[0].SPI != 0x501 || st.Out[1].SPI != 0x503 || st.Out[0].NextSeq <= seqBefore {
		t.Errorf("outbound SAs after reload: %+v (0x501 was at sequence %d)", st.Out, seqBefore)
	}
	var verdicts uint64
	for _, v := range st.Verdicts {
		verdicts += v
	}
	if verdicts != st.Submitted || st.Verdicts[host.Delivered]+st.Verdicts[host.NotOffloaded] != st.Submitted {
		t.Errorf("unprotect: %d submitted, verdicts %v", st.Submitted, st.Verdicts)
	}
	// A packet of the removed SA is not opened any more.
	if err := p.Unprotect(udpPacket("10.0.0.1", "10.0.2.2", 60), 0, 0); !errors.Is(err, fastpath.ErrNoSA) {
		t.Errorf("unprotect after stop: %v", err)
	}
	t.Logf("%d packets; sealed by SPI %v; %d left inside the NIC at the switch; %d not offloaded on receive",
		protected.Load(), sealedBySPI, res.Unfinished, st.Verdicts[host.NotOffloaded])
}

// Zero allocations per packet through both directions: Protect, the completion, the
// buffer carried over to UnprotectBuffer, the host's checks, the Unprotected completion.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	wire := make(chan *packet.Buffer, 1024) // more than a round
	var opened atomic.Int64
	p, err := fastpath.New(fastpath.Config{SAs: parse(t, `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x601 aead 'rfc4106(gcm(aes))' `+key128+` 128`),
		Lanes: 2, LinkHeaders: true,
		Protected: func(b fastpath.Burst) {
			for i := range b.Results {
				wire <- b.Results[i].Take()
			}
		},
		Unprotected: func(b fastpath.Burst) { opened.Add(int64(len(b.Results))) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pkt := append(make([]byte, 14), udpPacket("192.0.2.1", "198.51.100.1", 1000)...)
	sent := int64(0)
	round := func(n int) {
		for range n {
			if _, err := p.Protect(pkt, 14, 0); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush()
		sent += int64(n)
		for got := 0; got < n; got++ {
			if err := p.Queue(0).UnprotectBuffer(<-wire, 14); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush()
		for opened.Load() < sent {
			runtime.Gosched()
		}
	}
	// A garbage collection empties the runtime's caches (the parked goroutines' wait
	// records among them), which the next rounds refill: collect first, then warm up.
	runtime.GC()
	for range 300 {
		round(512)
	}
	// What remains is not per packet: a buffer pool growing to a new high of packets in
	// flight, a parked goroutine's wait record; a long window makes it vanish per packet.
	const rounds, burst = 400, 512
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range rounds {
		round(burst)
	}
	runtime.ReadMemStats(&m1)
	per := float64(m1.Mallocs-m0.Mallocs) / float64(rounds*burst)
	t.Logf("%d allocations for %d packets each way (%.5f per packet)", m1.Mallocs-m0.Mallocs, rounds*burst, per)
	if per >= 0.001 {
		t.Errorf("%.5f allocations per packet, want 0", per)
	}
	if st := p.Stats(); st.Verdicts[host.Delivered] != uint64(sent) {
		t.Errorf("delivered %d of %d", st.Verdicts[host.Delivered], sent)
	}
}
