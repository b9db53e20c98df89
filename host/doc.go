// Package host is the host model: the part NDIS calls the TCP/IP transport. It owns policy
// and keys, frames ESP around plain IP packets (header, IV space, padding, trailer, ICV
// room), picks the SA for each packet, numbers the packets, offloads its SAs to the NIC
// through the OIDs, and keeps the NIC told of the ESN high half.
//
// The NIC never chooses an SA or a sequence number: the host does, and the NIC seals what
// it is given (SPEC section 1). An embedder with its own host logic can drive package nic
// and package stage directly; the pcap replayer and the benchmark drive them through this
// package.
//
// Send side, who touches what: one goroutine calls Sender.Send/SendLarge/Flush/Close (the
// sender); another takes completions (Sender.Completions) and gives each back with
// Sender.Done. They share only atomic counters.
//
// ESN across 2^32 (R-TX-7, SPEC section 4): the NIC builds the 64-bit sequence number from
// the SA's high half and the 32 low bits the host wrote in the ESP header, so the high half
// the NIC holds must match every packet it is sealing. The host therefore changes it only
// at a quiet moment: before submitting the first packet whose number has a new high half, it
// waits until every packet it has submitted has completed (drain), then issues UPDATE_SA,
// then goes on. The drain happens once per 2^32 packets of an SA; packets already in flight
// are sealed with the old high half, which is theirs. A large send whose segments cross
// 2^32 needs no update in between: the NIC carries into the high half itself (R-TX-7), and
// the host updates before the next packet.
package host
