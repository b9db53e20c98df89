// Package fastpath is the engine as one object: an ESP fast path made from a list of SAs in
// the `ip xfrm state` form, with protect and unprotect entry points and completion
// callbacks. It does the wiring an embedder would otherwise write by hand (host.Example): a
// NIC, its stage.Env, a send and a receive path, the host model's Sender and Receiver, the
// SAs offloaded through ADD_SA in both directions, and the goroutines that take the
// completions. `ov2 replay` and `ov2 gateway` are built on it.
//
//	p, err := fastpath.New(fastpath.Config{SAs: states,
//		Protected:   func(b fastpath.Burst) { for _, r := range b.Results { wire.Write(r.Frame) } },
//		Unprotected: func(b fastpath.Burst) { for _, r := range b.Results { tun.Write(r.Frame) } }})
//	defer p.Close()
//	p.Protect(ipPacket, 0, 0)   // sealed if an outbound SA matches, else through in clear
//	p.Unprotect(espPacket, 0, 0) // opened, anti-replay checked, decapsulated
//	p.Flush()
//
// # Queues and lanes
//
// A Path has Config.Queues queues, like the queue pairs of a multi-queue NIC: each queue
// has its own send path, receive path, host Sender and host Receiver, so that each can be
// driven by its own goroutine (a receive ring of a PACKET_FANOUT group, an RSS queue).
// Every SA belongs to one queue, chosen by QueueOf from its addresses (or its selector),
// and only that queue seals or opens it: its sequence numbers and its anti-replay window
// have one owner, and its packets stay in order. A packet given to the wrong queue is
// refused with ErrWrongQueue (count it; Rules says which queue takes what, to steer packets
// there, as package gateway does with a fanout program). With one queue (the default)
// every SA is queue 0's.
//
// Each path has Config.Lanes lanes (stage lanes: the NIC's worker goroutines); the
// completions of each send lane come on a goroutine of their own, so that the output work
// runs in parallel; a queue's receive completions come on one goroutine, which runs the
// host's anti-replay check and decapsulation.
//
// # Who calls what
//
//	Protect, ProtectLarge, Flush ─► queue's host Sender ─► send path lanes ─► Protected(Burst), one goroutine per lane
//	Unprotect, UnprotectBuffer ─► queue's receive path ─► host Receiver ─► Unprotected(Burst), one goroutine per queue
//
// With Config.Inline there are no lane or completion goroutines: each queue is run to
// completion by its owner goroutine, which calls the entry points and then Queue.Turn, which
// runs the stages and calls the callbacks on the owner's goroutine (package gateway's
// workers do this: a packet then never waits for a parked goroutine to be woken).
//
// The entry points of a queue may be called from any goroutine (a mutex per direction
// serializes them; one goroutine per queue and direction never waits on it). Calls queue
// packets in bursts; Flush hands a partial burst to the NIC. The callbacks own each
// Result's buffer only for the call: the Path releases it afterwards unless the callback
// takes it (Result.Take).
//
// # The link-layer header
//
// With Config.LinkHeaders a packet may be given with its link-layer header in front
// (linkLen bytes, an Ethernet header say): the header travels with the packet through the
// NIC in the buffer's headroom (host.StashLink) and comes back in front of the result, so
// that a bridge can send the result out with the header it came with (fixing its
// EtherType if the IP version changed). Each segment of a large send comes back with its
// large send's header (the NIC's segmenter hands the headroom on: packet.CarryFront).
// Without it (a path given IP packets only) nothing is kept, and linkLen must be 0.
//
// Unprotected results are decapsulated in place (host.Receiver.ReceiveInPlace): the inner
// packet is in the NIC's buffer, not copied out.
//
// # Reload
//
// Reload takes a new list of SAs and applies the difference while traffic flows: it
// offloads the added SAs (ADD_SA), switches the policy, lets the packets submitted before
// the switch complete, then deletes the removed SAs (DELETE_SA). SAs in both lists keep
// their state (sequence numbers, anti-replay windows). After Reload returns no packet is
// sealed or opened with a removed SA (R-SA-5), and a packet of one that was still inside
// the NIC fails with a counted reason.
//
// # Accounting
//
// Every packet given to Protect or Unprotect either returns an error (the caller counts
// it; nothing was queued) or comes back exactly once in a Burst: sealed, in clear, or
// failed with the NIC's reason (Protected), or with the host's verdict (Unprotected);
// except that a large send comes back as its segments.
package fastpath
