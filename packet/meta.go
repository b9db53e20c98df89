package packet

// Meta is the NIC's own per-packet scratch: what its stages learn about a packet in one
// stage and need in a later one, possibly on another goroutine across a ring. The host never
// reads or writes it. It lives on the Buffer (not in a side table) so that a packet carries
// it through any placement of the stages; Reset clears it.
//
// Offsets are bytes from the start of the frame (the outermost IP header); 0 means "none"
// for the ESP and AH offsets, since neither header can ever start at byte 0.
type Meta struct {
	// Seq is the 64-bit ESP sequence number the NIC chose for the packet's outermost SA
	// processed by the seal stage, when SeqSet; LSO sets it per segment (R-TX-7).
	Seq uint64
	// AHSeq is the same for the AH part of the SA (its own sequence space), when SeqSet and
	// the SA has AH.
	AHSeq uint64

	// ESP is the offset of the OffloadHandle SA's ESP header; ESPEnd is where its ESP
	// region (trailer and ICV room included) ends.
	ESP, ESPEnd int32
	// TunnelESP is the offset of the TunnelHandle SA's ESP header in a combined
	// transport+tunnel packet (its region ends at the end of the frame); 0 when not combined.
	TunnelESP int32
	// AH is the offset of the AH header: on send the OffloadHandle SA's (AhHeaderOffset), on
	// receive the outermost one; 0 when the packet has none. On receive, ESP is then the
	// ESP header after it in an ESP+AH bundle (0 when AH is alone).
	AH int32
	// TunnelAH is the offset of the TunnelHandle SA's AH header in a combined packet whose
	// tunnel SA has AH (right after the outer IP header); 0 otherwise.
	TunnelAH int32
	// Inner is the offset of the inner IP header of a combined transport+tunnel packet on
	// send (its datagram ends at ESPEnd), over which the transport SA's AH is computed; 0
	// otherwise.
	Inner int32

	// Receive side, set by the receive classifier: the SPI and where the outer destination
	// address is (the SA lookup key, R-RX-2), the classifier's verdict (Kind, a
	// stage-defined code) and flags. ESP and ESPEnd hold the ESP header offset and the end
	// of the IP packet.
	SPI               uint32
	DstOff            int32
	DstLen            uint8
	Kind, Flags, Skip uint8

	SeqSet bool
	// IPv6 is true when the outermost IP header is IPv6.
	IPv6 bool
	// Segment is true for a packet the LSO stage cut out of a large send.
	Segment bool
}
