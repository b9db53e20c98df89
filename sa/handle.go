package sa

import "fmt"

// Handle is an OffloadHandle: what the NIC writes into a bundle that it offloaded and what
// the host passes back on send and in UPDATE_SA / DELETE_SA. Zero is the NULL handle
// ("no IPsec processing" on send, "not offloaded" in an ADD_SA reply).
//
// Layout: generation<<32 | slot. Generations start at 1, so a valid handle is never 0.
type Handle uint64

func makeHandle(slot, gen uint32) Handle { return Handle(uint64(gen)<<32 | uint64(slot)) }

func (h Handle) slot() uint32 { return uint32(h) }
func (h Handle) gen() uint32  { return uint32(h >> 32) }

// String shows the slot and generation, which is what one needs when reading logs.
func (h Handle) String() string {
	if h == 0 {
		return "NULL"
	}
	return fmt.Sprintf("%d.%d", h.slot(), h.gen())
}
