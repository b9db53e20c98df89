// Package pcap reads pcap and pcapng captures down to IP packets, and writes pcap and
// pcapng captures safely. It is the file side of `ov2 replay`, which replays captures
// through the IPsec engine at line rate, so the read path does not allocate per packet and
// every error names the file and the packet.
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
// A record whose original length is more than what was captured was cut by the capture's
// snaplen (Record.TruncatedByCapture); Reader.Network reports such a packet, when its
// headers or its IP packet are incomplete, as ErrTruncatedByCapture with the sizes rather
// than as a malformed frame.
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
// CreateOutput writes pcap (nanosecond, one link type) or pcapng (one interface per link
// type, added when a link type is first written), as the caller chooses in Options.Format;
// FormatFor picks pcapng for a ".pcapng" path. What it does depends on what the path is:
//
//   - a regular file, or nothing yet: a hidden temporary file in the destination's directory
//     (so a directory that takes no new file fails at open, not at the end), which Commit
//     fsyncs and renames into place and Abort (or Close, or losing the Writer) removes. A
//     run that fails or is interrupted therefore never leaves a file at the destination that
//     looks complete, and an existing file there is replaced only by Commit. A symlink is
//     written through: its target is replaced, the symlink stays.
//   - a device or a FIFO: written in place, never replaced (`--out /dev/null` as root).
//   - "-": standard output (NewStreamWriter takes any io.Writer).
//
// Options.Refuse names the inputs: an output that is one of them, by any path, is refused.
// Every error names the caller's path, never the temporary file's, and a write error is
// sticky ("out.pcap: write: no space left on device"); Flush pushes the 1 MiB buffer out so
// that the caller notices such an error within its flush interval:
//
//	w, err := pcap.CreateOutput(out, rec.Link, pcap.Options{Format: pcap.FormatFor(out), Refuse: []string{in}})
//	if err != nil {
//		return err
//	}
//	defer w.Abort() // does nothing after Commit
//	... w.WritePacketV(rec.Time, rec.Link, rec.OrigLen, link, ip) ... w.Flush() once a second ...
//	return w.Commit()
//
// WritePacket and WritePacketV keep the packet's original length, so a packet cut by the
// input capture's snaplen stays marked as cut; a pcap output refuses a packet of a second
// link type with an error that suggests pcapng. The writes do not allocate; both formats
// are encoded by this package. Create, Write and WriteV are the earlier, pcap-only API.
package pcap
