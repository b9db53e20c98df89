package ah

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// lane is what the pipeline gives each worker: a long-lived heap struct holding its Scratch.
type lane struct{ s Scratch }

// TestZeroAllocs: Insert and Verify allocate nothing per packet once the lane's Scratch has
// seen its largest packet, for every algorithm, IPv4 with options and IPv6 with extension
// headers, with and without ESN, on success and on ErrAuth. DESIGN: a stage never allocates
// per packet.
func TestZeroAllocs(t *testing.T) {
	for _, su := range suites {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ESN=%v", su.name, esn), func(t *testing.T) {
				tr, _ := mustAH(t, su, esn, 2)
				l := new(lane)
				p4 := v4([]byte{0x94, 4, 0, 0}, tr.HeaderLen(false), 6, 1, 1, fill(1400, 1))
				p6 := v6([]byte{nhHopByHop}, [][]byte{{0, 0, 0x3e, 2, 1, 2, 1, 0}}, tr.HeaderLen(true), 6, 1, 1, fill(1400, 1))
				for _, pkt := range [][]byte{p4, p6} {
					if _, err := tr.Insert(&l.s, pkt, 3); err != nil {
						t.Fatal(err)
					}
					bad := bytes.Clone(pkt)
					bad[len(bad)-1] ^= 1
					for name, f := range map[string]func(){
						"Insert": func() {
							if _, err := tr.Insert(&l.s, pkt, 3); err != nil {
								t.Fatal(err)
							}
						},
						"Verify": func() {
							if _, err := tr.Verify(&l.s, pkt, 3); err != nil {
								t.Fatal(err)
							}
						},
						"Verify (ErrAuth)": func() {
							if _, err := tr.Verify(&l.s, bad, 3); err != ErrAuth {
								t.Fatal(err)
							}
						},
					} {
						if n := testing.AllocsPerRun(200, f); n != 0 {
							t.Errorf("%s: %v allocations per packet, want 0", name, n)
						}
					}
				}
			})
		}
	}
}

// TestConcurrentLanes shares one AH transform between goroutines with their own Scratch;
// under -race this checks that Insert and Verify keep to the lane's memory and the packet.
func TestConcurrentLanes(t *testing.T) {
	for _, su := range suites {
		tr, _ := mustAH(t, su, true, 4)
		want := v6(nil, nil, tr.HeaderLen(true), 41, 7, 9, fill(300, 5))
		if _, err := tr.Insert(new(Scratch), want, 2); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				l := new(lane)
				for i := range 50 {
					pkt := v6(nil, nil, tr.HeaderLen(true), 41, 7, 9, fill(300, 5))
					if _, err := tr.Insert(&l.s, pkt, 2); err != nil || !bytes.Equal(pkt, want) {
						t.Errorf("%s: Insert %d: %v, equal %v", su.name, i, err, bytes.Equal(pkt, want))
						return
					}
					if _, err := tr.Verify(&l.s, pkt, 2); err != nil {
						t.Errorf("%s: Verify: %v", su.name, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
