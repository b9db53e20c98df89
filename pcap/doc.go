// Package pcap reads pcap and pcapng captures down to IP packets, and writes pcap
// captures safely. It is the file side of `ov2 replay`, which replays captures through the
// IPsec engine at line rate, so the read path does not allocate per packet and every error
// names the file and the packet.
//
// # Reading
//
// Open (or NewReader) tells pcap from pcapng by the magic number. pcap may be in either
// byte order, with microsecond or nanosecond timestamps; pcapng may mix interfaces of
// different link types, byte orders (per section) and timestamp resolutions. Next returns
// one Record at a time, whose Data aliases the reader's buffer until the next call:
//
//	r, err := pcap.Open("cap.pcapng")
//	if err != nil {
//		return err // "cap.pcapng: not a pcap or pcapng file (magic 0x68656c6c)"
//	}
//	defer r.Close()
//	for {
//		rec, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // "cap.pcapng: packet 17: truncated (...)"
//		}
//		link, ip, err := pcap.Network(rec.Link, rec.Data)
//		if errors.Is(err, pcap.ErrNotIP) {
//			passThrough(rec.Data) // ARP, LLDP, ...: count and forward unchanged
//			continue
//		}
//		if err != nil {
//			return fmt.Errorf("cap.pcapng: packet %d: %w", rec.Index, err) // or r.Network(rec)
//		}
//		process(link, ip)
//	}
//
// The records come from gopacket's pcapgo (ZeroCopyReadPacketData on pcapgo.Reader and
// pcapgo.NgReader). pcapgo trusts its input more than a replay tool can afford to, so this
// package bounds what it may allocate (MaxSnaplen), turns a record cut off by the end of the
// file into an ErrTruncated error instead of a clean io.EOF, and puts a checking layer in
// front of the pcapng reader (see ngGuard in pcapng.go) that rejects corrupt block lengths,
// option lists and timestamp resolutions before pcapgo can misread, over-allocate or panic
// on them. FuzzReader exercises exactly that.
//
// # Link types
//
// LinkType is a 16-bit LINKTYPE_ value; gopacket v1.1.19's layers.LinkType is 8 bits and
// cannot hold Linux SLL2 (276). Network finds the IP packet behind Ethernet (with any
// 802.1Q/802.1ad tags), raw IP (101, DLT 12 and 14, 228, 229), Linux SLL and SLL2, and BSD
// Null/Loop headers, trimming Ethernet padding; SetIPVersion rewrites a link header's
// protocol field in place when the packet written behind it changes IP version.
//
// # Writing
//
// Create writes a nanosecond pcap to a hidden temporary file next to the destination;
// Commit fsyncs and renames it into place, Abort (or Close, or losing the Writer) removes
// it. A run that fails or is interrupted therefore never leaves a file at the destination
// that looks complete, and an existing file there is replaced only by Commit:
//
//	w, err := pcap.Create("out.pcap", rec.Link, 0)
//	if err != nil {
//		return err
//	}
//	defer w.Abort() // does nothing after Commit
//	... w.WriteV(rec.Time, link, ip) ...
//	return w.Commit()
//
// Write and WriteV do not allocate; the record format is written by this package.
package pcap
