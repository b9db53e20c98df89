package esp

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestETMZeroAllocs: Seal and Open of the AES-CBC and NULL suites allocate nothing per packet
// once the lane has warmed up (its first HMAC makes its hash objects), with and without ESN,
// on success, on a bad ICV and on bad padding behind a valid ICV; nor does Auth (AH). DESIGN:
// a stage never allocates per packet.
func TestETMZeroAllocs(t *testing.T) {
	for _, su := range etmSuites {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ESN=%v", su.name, esn), func(t *testing.T) {
				tr, r := mustETM(t, su, esn, 5)
				l := new(lane)
				pkt := frameETM(tr, 7, 9, fill(1400, 1), 6)
				sealed, err := tr.Seal(&l.s, bytes.Clone(pkt), 3)
				if err != nil {
					t.Fatal(err)
				}
				good := bytes.Clone(sealed)
				badICV := bytes.Clone(sealed)
				badICV[len(badICV)-1] ^= 1
				badPad := r.refSeal(7, 9, 3, fill(r.ivLen(), 2), fill(61, 1), 6, append(make([]byte, r.align()-(61+2)%r.align()), 99, 6))
				rx := make([]byte, len(sealed))
				open := func(tmpl []byte, want error) func() {
					return func() {
						rx = rx[:len(tmpl)]
						copy(rx, tmpl)
						if _, err := tr.Open(&l.s, rx, 3); err != want {
							t.Fatalf("Open = %v, want %v", err, want)
						}
					}
				}
				open(good, nil)() // warm the lane
				for name, f := range map[string]func(){
					"Seal": func() {
						if _, err := tr.Seal(&l.s, pkt, 3); err != nil {
							t.Fatal(err)
						}
					},
					"Open":               open(good, nil),
					"Open (bad ICV)":     open(badICV, ErrAuth),
					"Open (bad padding)": open(badPad, ErrAuth),
				} {
					if n := testing.AllocsPerRun(200, f); n != 0 {
						t.Errorf("%s: %v allocations per packet, want 0", name, n)
					}
				}
			})
		}
	}
	for _, alg := range []Integrity{HMACSHA1_96, HMACSHA256_128, GMAC128, GMAC256} {
		a, err := NewAuth(alg, fill(alg.KeyLen(), 1))
		if err != nil {
			t.Fatal(err)
		}
		l := new(lane)
		hdr, body, iv, icv := fill(40, 1), fill(1400, 2), fill(8, 3), make([]byte, 16)
		if err := a.Sum(&l.s, icv, iv, hdr, body); err != nil { // warm: lane hash, Scratch buffer
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(200, func() {
			if err := a.Sum(&l.s, icv, iv, hdr, body); err != nil {
				t.Fatal(err)
			}
			if err := a.Verify(&l.s, icv, iv, hdr, body); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Auth %v: %v allocations per Sum+Verify, want 0", alg, n)
		}
	}
}

// TestETMConcurrentLanes shares one transform (and one Auth) between goroutines, each with
// its own Scratch, the way lanes share an SA; more goroutines than the lane pool has slots
// hashed to one place, so they also collide on slots and probe. Every goroutine must get
// packets the reference accepts and must open every other goroutine's packets. Run under
// -race, this checks the lane pool's hand-over and that the transform is read-only apart
// from the IV counter.
func TestETMConcurrentLanes(t *testing.T) {
	for _, su := range []etmSuite{etmSuites[1], etmSuites[4], etmSuites[7]} {
		tr, r := mustETM(t, su, true, 8)
		a, err := NewAuth(su.integ, r.macKey)
		if err != nil {
			t.Fatal(err)
		}
		const workers = 24
		out := make(chan []byte, workers*40)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				l := new(lane)
				for i := range 40 {
					payload := fill(w*7+i, byte(w))
					sealed, err := tr.Seal(&l.s, frameETM(tr, uint32(w), uint32(i), payload, 4), 2)
					if err != nil {
						t.Error(err)
						return
					}
					if _, ok := r.refOpen(sealed, 2); !ok {
						t.Errorf("%s: worker %d packet %d: the reference rejects it", su.name, w, i)
					}
					icv := make([]byte, 16)
					if err := a.Sum(&l.s, icv, nil, sealed[:len(sealed)-r.icvLen()]); err != nil {
						t.Error(err)
					}
					if err := a.Verify(&l.s, icv, nil, sealed[:len(sealed)-r.icvLen()]); err != nil {
						t.Errorf("%s: Auth.Verify: %v", su.name, err)
					}
					out <- sealed
				}
			})
		}
		wg.Wait()
		close(out)
		var opened sync.WaitGroup
		pkts := make([][]byte, 0, workers*40)
		for p := range out {
			pkts = append(pkts, p)
		}
		for w := range workers {
			opened.Go(func() {
				l := new(lane)
				for i := w; i < len(pkts); i += workers {
					if _, err := tr.Open(&l.s, pkts[i], 2); err != nil {
						t.Errorf("%s: Open of packet %d: %v", su.name, i, err)
					}
				}
			})
		}
		opened.Wait()
	}
}

// TestLanePool checks the pool's own rules: slots are a power of two, at least 16 and four
// per GOMAXPROCS; one lane always gets its own slot back; and a slot held by one caller is
// never handed to another until released (every slot taken, then each one released in turn
// goes to the waiting caller).
func TestLanePool(t *testing.T) {
	for procs, want := range map[int]int{1: 16, 4: 16, 5: 32, 64: 256} {
		if n := len(newLanePool(procs).slots); n != want {
			t.Errorf("newLanePool(%d): %d slots, want %d", procs, n, want)
		}
	}
	p := newLanePool(1)
	s := new(Scratch)
	a := p.acquire(s)
	p.release(a)
	if b := p.acquire(s); b != a {
		t.Error("a lane did not get its slot back")
	} else {
		p.release(b)
	}
	held := make([]*laneSlot, len(p.slots))
	for i := range held {
		held[i] = p.acquire(new(Scratch))
	}
	for i, x := range held {
		for _, y := range held[:i] {
			if x == y {
				t.Fatal("one slot handed out twice")
			}
		}
	}
	got := make(chan *laneSlot)
	go func() { got <- p.acquire(new(Scratch)) }()
	p.release(held[5])
	if sl := <-got; sl != held[5] {
		t.Error("the waiting caller did not get the released slot")
	}
}
