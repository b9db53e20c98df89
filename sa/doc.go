// Package sa is the NIC's SA store and its control plane (SPEC section 3, R-SA-1..8).
//
// An SA here is an ADD_SA bundle: ESP, AH, or ESP then AH (the only order NDIS allows). Each
// part has its own SPI, keyed transform (package esp or ah, chosen from the NDIS identifiers
// in params.go), ESN high half and counters (State); the receive path finds a bundle with AH
// by its AH SPI (Table.LookupInboundAH), one with ESP alone by its ESP SPI (LookupInbound),
// since an SA is identified by SPI, destination and protocol (RFC 4301 section 4.1).
//
// Who may touch what:
//
//   - The control goroutine (one per Controller) is the only writer. It serves the OIDs
//     ADD_SA, ADD_SA_EX, UPDATE_SA and DELETE_SA, and any other change a caller hands it with
//     Run, one at a time, in arrival order (R-SA-1).
//   - A Table is immutable once published. Every change builds a new Table and swaps it in
//     with one atomic pointer store (copy-on-write, R-SA-7). The data path loads that pointer
//     once per burst through a Reader and never takes a lock or waits for the control
//     goroutine.
//   - The mutable part of an SA (the ESN high half set by UPDATE_SA, counters) lives in its
//     State, outside the immutable Table, and is read and written with atomics.
//   - An old Table is reclaimed, and a deleted SA's key material zeroed, only after a grace
//     period: every registered Reader has either left its read section or entered it after
//     the new Table was published. This is what makes R-SA-5 hold: when DELETE_SA returns,
//     no reader can still be processing a packet with that SA.
//
// Handles (R-SA-3, R-SA-5) are 64-bit values: the low 32 bits select a slot, the high 32 bits
// are that slot's generation, bumped each time the slot is freed. A handle is therefore never
// a bare, reusable slice index: a stale handle names a slot whose generation has moved on,
// and lookups refuse it. A slot's generation would have to wrap 2^32 times for a value to
// come back.
//
// The grace period follows the quiescent-state idea of RCU: each Reader publishes the global
// epoch it saw when it entered its read section (0 when outside). After publishing a new
// Table the control goroutine advances the epoch to e and waits until every Reader shows 0
// or a value >= e. Go's sync/atomic operations are sequentially consistent, so a Reader that
// shows a value >= e loaded the Table pointer after the new Table was stored.
package sa
