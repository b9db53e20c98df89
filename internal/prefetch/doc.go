// Package prefetch asks the CPU to start bringing a packet's bytes into the cache before the
// code that reads them gets there.
//
// Why the stages need it: a packet's bytes usually come from another core. The host (or, in
// `ov2 bench`, the harness that restores a decrypted packet's sealed bytes) wrote them there,
// so each of their cache lines sits modified in that core's cache, and the lane's first
// read of each line waits for a cross-core transfer, about 100 ns on the VMs this project
// runs on. The hardware prefetcher follows a stream only after a few misses and only
// within a page, so AES-GCM over a 1400-byte packet spent most of its time waiting: in a
// profile of `ov2 bench --mode decrypt --size 1400` the decryption assembly took 520 ns per
// packet against 165 ns for the same call on bytes already in the cache. A stage that
// prefetches the packets a few places ahead of the one it works on overlaps those transfers
// with the crypto of the packets before them, the way DPDK's drivers and ipsec-secgw do.
//
// Write asks for the lines with the intent to write (PREFETCHW on amd64): the stages
// encrypt and decrypt in place, and a line fetched for reading would need a second
// cross-core round trip to become writable. Read (PREFETCHT0) is for bytes that are only
// verified (ESP-NULL, AES-GMAC, AH): taking them for writing would pull every line away
// from a core that reads them too, and that core would then fetch them all back. Head
// asks for the four lines a path's first stage touches first of one packet (one to read,
// three to write) in one call, for every packet of a burst. A prefetch is only a hint: it never faults
// (an address past a mapping is ignored), and on architectures without the assembly it
// does nothing.
package prefetch
