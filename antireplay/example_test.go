package antireplay_test

import (
	"fmt"

	"github.com/ov2dev/ov2/antireplay"
)

// A host's receive path for an ESN SA whose numbers cross 2^32: restore the full number
// from the low half on the wire, and record it only if the NIC verified the ICV.
func Example() {
	w, err := antireplay.New(antireplay.DefaultSize, true)
	if err != nil {
		panic(err)
	}
	w.Start(0xFFFFFFFE)
	for _, p := range []struct {
		lo      uint32 // the sequence number field on the wire
		icvGood bool   // from the NIC's receive OOB info
	}{
		{0xFFFFFFFE, true}, {0x00000001, true}, {0x00000400, false}, {0xFFFFFFFF, true}, {0x00000001, true},
	} {
		seq := w.Infer(p.lo)
		if !p.icvGood {
			fmt.Printf("low %#08x -> %#x dropped: ICV failed, window untouched\n", p.lo, seq)
			continue
		}
		if err := w.Accept(seq); err != nil {
			fmt.Printf("low %#08x -> %#x dropped: %v\n", p.lo, seq, err)
			continue
		}
		fmt.Printf("low %#08x -> %#x accepted\n", p.lo, seq)
	}
	fmt.Printf("top %#x\n", w.Top())
	// Output:
	// low 0xfffffffe -> 0xfffffffe accepted
	// low 0x00000001 -> 0x100000001 accepted
	// low 0x00000400 -> 0x100000400 dropped: ICV failed, window untouched
	// low 0xffffffff -> 0xffffffff accepted
	// low 0x00000001 -> 0x100000001 dropped: replay: duplicate sequence number
	// top 0x100000001
}
