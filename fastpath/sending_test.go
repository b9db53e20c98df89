package fastpath_test

import (
	"errors"
	"testing"

	"github.com/ov2dev/ov2/fastpath"
)

// A Sending frames what Protect frames, holding the send lock across packets: every packet
// is sealed and counted once, Stats (which takes the lock) waits for Release, and after
// Stop it returns ErrClosed and holds nothing.
func TestSending(t *testing.T) {
	var c collector
	p, err := fastpath.New(c.config(fastpath.Config{SAs: parse(t,
		"src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x301 aead 'rfc4106(gcm(aes))' "+key128+" 128\n"), Lanes: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q := p.Queue(0)
	s := q.Sending()
	const n = 1000
	for i := range n {
		pkt := udpSeq("10.0.0.1", "10.0.0.2", 100+i%50, uint64(i))
		if out, err := s.Protect(pkt, 0, uint64(i)); err != nil || !out.Sealed {
			t.Fatalf("packet %d: %+v, %v", i, out, err)
		}
		if i%100 == 7 { // a clear packet, and another goroutine's Protect, between
			s.Release()
			done := make(chan error)
			go func() {
				_, err := q.Protect(udpPacket("192.0.2.1", "192.0.2.2", 60), 0, 0)
				done <- err
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.ProtectLarge(udpPacket("10.0.0.1", "10.0.0.2", 100), 0, 0, 0); err == nil {
		t.Error("ProtectLarge of a UDP packet: no error")
	}
	s.Release()
	p.Flush()
	clears := n / 100 // i%100 == 7
	c.wait(t, n+clears, 0)
	p.Stop()
	st := p.Stats()
	if st.Sealed.Packets != n || st.Clear.Packets != uint64(clears) || st.Out[0].Protected.Packets != n {
		t.Errorf("sealed %d, clear %d, protected %d; want %d, %d, %d", st.Sealed.Packets, st.Clear.Packets, st.Out[0].Protected.Packets, n, clears, n)
	}
	if _, err := s.Protect(udpPacket("10.0.0.1", "10.0.0.2", 100), 0, 0); !errors.Is(err, fastpath.ErrClosed) {
		t.Errorf("after Stop: %v, want ErrClosed", err)
	}
	p.Stats() // the lock is free again
}
