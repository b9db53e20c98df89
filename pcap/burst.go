package pcap

import "time"

// Packet is one packet of a burst given to WritePackets: what WritePacket takes.
type Packet struct {
	Time time.Time
	Link LinkType // the link type of Data's header
	Data []byte
	// OrigLen is the packet's length on the wire when it is more than len(Data); 0 (or
	// less than len(Data)) means len(Data).
	OrigLen int
}

// burstDirect is the least number of packet bytes in a burst for WritePackets to write it
// straight from the packets (one writev) rather than copy it into the buffer: below it a
// system call costs more than the copy it saves.
const burstDirect = 32 << 10

// maxIOV bounds the pieces of one writev (the kernel's IOV_MAX is 1024).
const maxIOV = 1020

// WritePackets writes a burst of packets, as WritePacket does each in turn: the same
// records, the same errors (a packet the file cannot hold fails it, after the packets in
// front of it are written; a write error is sticky). A Writer on a file (a regular
// destination, or one written in place) writes a large burst with one writev system call
// from the packets themselves, after what is buffered, instead of copying it into its
// buffer: the packet bytes are copied once, by the kernel. No allocation once the Writer
// has seen a burst of that size.
func (w *Writer) WritePackets(ps []Packet) error {
	if w.err != nil {
		return w.err
	}
	if !w.direct(ps) {
		for i := range ps {
			if err := w.WritePacket(ps[i].Time, ps[i].Link, ps[i].Data, ps[i].OrigLen); err != nil {
				return err
			}
		}
		return nil
	}
	// What is buffered goes first.
	if err := w.bw.Flush(); err != nil {
		return w.writeErr(err)
	}
	per := 2 // iovecs per record: header, data, and for pcapng the padding and trailer
	hdrSize := pcapRecordLen
	if w.format == FormatPcapng {
		per, hdrSize = 3, ngEPBHeaderLen+8
	}
	if need := min(len(ps), maxIOV/per) * hdrSize; cap(w.slab) < need {
		w.slab = make([]byte, need)
	}
	slab := w.slab[:cap(w.slab)]
	w.iov = w.iov[:0]
	off := 0
	for i := range ps {
		p := &ps[i]
		h := slab[off : off+hdrSize]
		capLen, hl, err := w.encode(h, p.Time, p.Link, len(p.Data), p.OrigLen)
		if err != nil {
			if werr := w.writeIOV(); werr != nil {
				return werr
			}
			return err
		}
		w.iov = append(w.iov, h[:hl], p.Data[:capLen])
		if w.format == FormatPcapng {
			t := h[ngEPBHeaderLen:]
			pad := -capLen & 3
			clear(t[:pad])
			putUint32LE(t[pad:], uint32(ngEPBLen(capLen)))
			w.iov = append(w.iov, t[:pad+4])
		}
		w.packets++
		off += hdrSize
		if len(w.iov)+per > maxIOV {
			if err := w.writeIOV(); err != nil {
				return err
			}
			off = 0
		}
	}
	return w.writeIOV()
}

// direct says whether WritePackets writes ps with writev: a file destination, enough
// bytes, and (pcapng) no link type that would need a new interface block first.
func (w *Writer) direct(ps []Packet) bool {
	if w.f == nil || w.kind == outStream || !canWritev {
		return false
	}
	n := 0
	for i := range ps {
		n += len(ps[i].Data)
		if w.format == FormatPcapng && !w.hasIface(ps[i].Link) {
			return false
		}
	}
	return n >= burstDirect
}

func (w *Writer) hasIface(lt LinkType) bool {
	for _, known := range w.ifaces {
		if known == lt {
			return true
		}
	}
	return false
}

// writeIOV writes w.iov to the file and empties it.
func (w *Writer) writeIOV() error {
	if len(w.iov) == 0 {
		return nil
	}
	err := w.writev(w.iov)
	clear(w.iov) // do not keep the caller's packets reachable
	w.iov = w.iov[:0]
	if err != nil {
		return w.writeErr(err)
	}
	return nil
}

func putUint32LE(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
