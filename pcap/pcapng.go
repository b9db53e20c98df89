package pcap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// pcapng block types and limits.
const (
	ngBlockSHB = 0x0a0d0d0a // section header
	ngBlockIDB = 1          // interface description
	ngBlockPB  = 2          // packet (obsolete)
	ngBlockSPB = 3          // simple packet
	ngBlockNRB = 4          // name resolution
	ngBlockISB = 5          // interface statistics
	ngBlockEPB = 6          // enhanced packet
	ngBlockDSB = 10         // decryption secrets

	ngByteOrderMagic = 0x1a2b3c4d

	ngOptEnd      = 0
	ngOptTSResol  = 9
	ngOptTSOffset = 14

	// maxNgBlock bounds the blocks the guard buffers (packet, interface and section
	// blocks): a MaxSnaplen packet plus room for options. Blocks of other types are
	// skipped without buffering, whatever their size.
	maxNgBlock = MaxSnaplen + 64<<10 + 64
	// maxLinkTypes is how many distinct link types one file may use (see ngGuard).
	maxLinkTypes = 256
	// prefetchLimit bounds how much NewReader reads ahead to find the first interface.
	prefetchLimit = 1 << 20
)

// ngGuard sits between the file and pcapgo.NgReader. It reads the pcapng stream one whole
// block at a time, checks each block's framing before pcapgo sees it, and hands pcapgo only
// the blocks pcapgo needs (section headers, interface descriptions, packets); other blocks
// (statistics, name resolution, decryption secrets, custom) are skipped here.
//
// Why: pcapgo v1.1.19 trusts the file. Given a corrupt block length it underflows its
// block-length counter and reads past the block, or allocates as much as a 32-bit length
// says (up to 4 GiB) for a packet; an if_tsresol option of 2^-64 or 10^-64 makes it divide
// by zero; a truncated block can come back as a clean io.EOF. The guard rejects all of these
// with an error that gives the block's type and file offset, and reports a cut-off block as
// truncated.
//
// It also rewrites two fields of each interface description block on the way through:
//   - the link type becomes an index into linkTypes, the table of distinct link types met
//     in the file (append-only, so it stays valid across sections however far the guard has
//     read ahead of pcapgo). pcapgo keeps link types as 8-bit layers.LinkType, which would
//     turn SLL2 (276) into 20, and with WantMixedLinkType it boxes each packet's link type
//     into an interface{}, which allocates for values of 256 and up; a small index avoids
//     both.
//   - a snaplen of 0 (no limit) or above MaxSnaplen becomes MaxSnaplen, because pcapgo sizes
//     its packet buffer to the interface's snaplen.
type ngGuard struct {
	src *bufio.Reader
	buf []byte // whole, checked blocks; buf[off:] is not yet handed to pcapgo
	off int
	pos int64 // file offset of the next block to load
	err error // returned once buf is drained: io.EOF or the first error

	big      bool // byte order of the current section
	sections int
	nIfaces  int    // interfaces defined in the current section
	snap0    uint32 // snaplen (as rewritten) of interface 0 of the current section

	linkTypes []LinkType
}

func newNgGuard(src *bufio.Reader) *ngGuard { return &ngGuard{src: src} }

// Read hands out checked blocks. An error (including a truncated or corrupt block) is
// returned only after every byte of the blocks before it, so pcapgo meets it exactly where
// the bad block begins.
func (g *ngGuard) Read(p []byte) (int, error) {
	for g.off == len(g.buf) {
		if g.err != nil {
			return 0, g.err
		}
		g.buf, g.off = g.buf[:0], 0
		if _, err := g.load(); err != nil {
			g.err = err
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// prefetch loads blocks up to the first interface description block (or packet block) so
// that the first interface's link type is known before the first packet is read. An error
// is kept for Read to return in its place in the stream.
func (g *ngGuard) prefetch() {
	for g.err == nil && len(g.buf) < prefetchLimit {
		typ, err := g.load()
		if err != nil {
			g.err = err
			return
		}
		if typ != ngBlockSHB {
			return
		}
	}
}

func (g *ngGuard) u16(b []byte) uint16 {
	if g.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (g *ngGuard) u32(b []byte) uint32 {
	if g.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (g *ngGuard) put16(b []byte, v uint16) {
	if g.big {
		binary.BigEndian.PutUint16(b, v)
	} else {
		binary.LittleEndian.PutUint16(b, v)
	}
}

func (g *ngGuard) put32(b []byte, v uint32) {
	if g.big {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
}

func blockName(typ uint32) string {
	switch typ {
	case ngBlockSHB:
		return "section header block"
	case ngBlockIDB:
		return "interface description block"
	case ngBlockPB:
		return "packet block"
	case ngBlockSPB:
		return "simple packet block"
	case ngBlockNRB:
		return "name resolution block"
	case ngBlockISB:
		return "interface statistics block"
	case ngBlockEPB:
		return "enhanced packet block"
	case ngBlockDSB:
		return "decryption secrets block"
	}
	return fmt.Sprintf("block of type 0x%08x", typ)
}

func corrupt(typ uint32, at int64, format string, args ...any) error {
	return fmt.Errorf("corrupt %s at offset %d: %s", blockName(typ), at, fmt.Sprintf(format, args...))
}

func truncatedBlock(typ uint32, at int64, length uint32, have int64) error {
	return fmt.Errorf("%w (%s at offset %d says %d bytes, file ends after %d)", ErrTruncated, blockName(typ), at, length, have)
}

// load reads the next block that pcapgo needs, checks it and appends it to buf, skipping
// (and checking the framing of) blocks pcapgo does not need. It returns the block's type,
// or io.EOF at a clean end.
func (g *ngGuard) load() (uint32, error) {
	for {
		at := g.pos
		h, err := g.src.Peek(8)
		if len(h) < 8 {
			if err == io.EOF && len(h) == 0 {
				return 0, io.EOF
			}
			if err == io.EOF {
				return 0, fmt.Errorf("%w (block header at offset %d: file ends after %d of its 8 bytes)", ErrTruncated, at, len(h))
			}
			return 0, err
		}
		typ := binary.LittleEndian.Uint32(h) // the section header type reads the same both ways
		switch {
		case typ == ngBlockSHB:
			h, err = g.src.Peek(12)
			if len(h) < 12 {
				if err == io.EOF {
					return 0, fmt.Errorf("%w (section header block at offset %d: file ends after %d of its first 12 bytes)", ErrTruncated, at, len(h))
				}
				return 0, err
			}
			switch bom := binary.LittleEndian.Uint32(h[8:]); bom {
			case ngByteOrderMagic:
				g.big = false
			case 0x4d3c2b1a:
				g.big = true
			default:
				return 0, corrupt(typ, at, "byte-order magic 0x%08x (want 0x1a2b3c4d)", binary.BigEndian.Uint32(h[8:]))
			}
		case g.sections == 0:
			return 0, fmt.Errorf("corrupt pcapng file: block at offset %d comes before any section header block", at)
		default:
			typ = g.u32(h)
		}
		length := g.u32(h[4:])

		minLen, keep := uint32(12), true
		switch typ {
		case ngBlockSHB:
			minLen = 28
		case ngBlockIDB:
			minLen = 20
		case ngBlockEPB, ngBlockPB:
			minLen = 32
		case ngBlockSPB:
			minLen = 16
		default:
			keep = false
		}
		if length%4 != 0 {
			return 0, corrupt(typ, at, "block length %d is not a multiple of 4", length)
		}
		if length < minLen {
			return 0, corrupt(typ, at, "block length %d is less than the minimum %d", length, minLen)
		}
		if !keep {
			if err := g.skip(typ, at, length); err != nil {
				return 0, err
			}
			g.pos += int64(length)
			continue
		}
		if length > maxNgBlock {
			return 0, corrupt(typ, at, "block length %d is more than the %d this reader accepts", length, maxNgBlock)
		}

		n0 := len(g.buf)
		if cap(g.buf)-n0 < int(length) {
			nb := make([]byte, n0, max(2*cap(g.buf), n0+int(length), 4096))
			copy(nb, g.buf)
			g.buf = nb
		}
		blk := g.buf[n0 : n0+int(length)]
		if n, err := io.ReadFull(g.src, blk); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return 0, truncatedBlock(typ, at, length, int64(n))
			}
			return 0, err
		}
		if trailer := g.u32(blk[length-4:]); trailer != length {
			return 0, corrupt(typ, at, "trailing block length %d differs from the leading %d", trailer, length)
		}
		if err := g.check(typ, at, blk); err != nil {
			return 0, err
		}
		g.buf = g.buf[:n0+int(length)]
		g.pos += int64(length)
		return typ, nil
	}
}

// skip discards a block pcapgo does not need, checking that the file holds all of it and
// that its trailing length matches.
func (g *ngGuard) skip(typ uint32, at int64, length uint32) error {
	n, err := g.src.Discard(int(length) - 4)
	if n < int(length)-4 {
		if err == io.EOF {
			return truncatedBlock(typ, at, length, int64(n))
		}
		return err
	}
	t, err := g.src.Peek(4)
	if len(t) < 4 {
		if err == io.EOF {
			return truncatedBlock(typ, at, length, int64(n+len(t)))
		}
		return err
	}
	if trailer := g.u32(t); trailer != length {
		return corrupt(typ, at, "trailing block length %d differs from the leading %d", trailer, length)
	}
	_, err = g.src.Discard(4)
	return err
}

// check validates the body of a block that is passed to pcapgo (whose framing is already
// checked), so that pcapgo's parse stays inside it, and rewrites interface blocks.
func (g *ngGuard) check(typ uint32, at int64, blk []byte) error {
	length := uint32(len(blk))
	switch typ {
	case ngBlockSHB:
		// pcapgo accepts only version 1.0.
		if major, minor := g.u16(blk[12:]), g.u16(blk[14:]); major != 1 || minor != 0 {
			return corrupt(typ, at, "unsupported pcapng version %d.%d (want 1.0)", major, minor)
		}
		if err := g.checkOptions(typ, at, blk[24:length-4]); err != nil {
			return err
		}
		g.sections++
		g.nIfaces, g.snap0 = 0, 0
	case ngBlockIDB:
		if err := g.checkOptions(typ, at, blk[16:length-4]); err != nil {
			return err
		}
		lt := LinkType(g.u16(blk[8:]))
		code := -1
		for i, known := range g.linkTypes {
			if known == lt {
				code = i
				break
			}
		}
		if code < 0 {
			if len(g.linkTypes) == maxLinkTypes {
				return corrupt(typ, at, "more than %d different link types in one file", maxLinkTypes)
			}
			code = len(g.linkTypes)
			g.linkTypes = append(g.linkTypes, lt)
		}
		g.put16(blk[8:], uint16(code))
		snap := g.u32(blk[12:])
		if snap == 0 || snap > MaxSnaplen {
			snap = MaxSnaplen
			g.put32(blk[12:], snap)
		}
		if g.nIfaces == 0 {
			g.snap0 = snap
		}
		g.nIfaces++
	case ngBlockEPB, ngBlockPB:
		iface := g.u32(blk[8:])
		if typ == ngBlockPB {
			iface = uint32(g.u16(blk[8:]))
		}
		if iface >= uint32(g.nIfaces) {
			return corrupt(typ, at, "interface %d is not defined (the section has %d)", iface, g.nIfaces)
		}
		capLen := g.u32(blk[20:])
		if capLen > length-32 {
			return corrupt(typ, at, "captured length %d does not fit in a block of %d bytes", capLen, length)
		}
		if capLen > MaxSnaplen {
			return corrupt(typ, at, "captured length %d is more than the %d this reader accepts", capLen, MaxSnaplen)
		}
	case ngBlockSPB:
		if g.nIfaces == 0 {
			return corrupt(typ, at, "no interface is defined in the section")
		}
		// pcapgo takes the captured length to be the original length cut to interface 0's
		// snaplen (never 0 after the rewrite above).
		capLen := min(g.u32(blk[8:]), g.snap0)
		if capLen > length-16 {
			return corrupt(typ, at, "captured length %d does not fit in a block of %d bytes", capLen, length)
		}
	}
	return nil
}

// checkOptions walks an option list the way pcapgo's readOption does and rejects what would
// make pcapgo read outside the block or misbehave.
func (g *ngGuard) checkOptions(typ uint32, at int64, opts []byte) error {
	for len(opts) > 0 {
		if len(opts) < 4 {
			return corrupt(typ, at, "option list ends inside an option header")
		}
		code, olen := g.u16(opts), int(g.u16(opts[2:]))
		if code == ngOptEnd {
			if olen != 0 {
				return corrupt(typ, at, "end-of-options option has length %d", olen)
			}
			return nil
		}
		padded := (olen + 3) &^ 3
		// pcapgo adds length and padding in 16 bits; above 65532 that wraps.
		if olen > 65532 || 4+padded > len(opts) {
			return corrupt(typ, at, "option %d of %d bytes runs past the end of the block", code, olen)
		}
		if typ == ngBlockIDB {
			switch code {
			case ngOptTSResol:
				if olen < 1 {
					return corrupt(typ, at, "empty if_tsresol option")
				}
				// pcapgo computes 2^e or 10^e in 64 bits and divides by it.
				v := opts[4]
				if e := v & 0x7f; (v&0x80 != 0 && e > 63) || (v&0x80 == 0 && e > 19) {
					return corrupt(typ, at, "if_tsresol 0x%02x is out of range", v)
				}
			case ngOptTSOffset:
				if olen < 8 {
					return corrupt(typ, at, "if_tsoffset option of %d bytes (want 8)", olen)
				}
			}
		}
		opts = opts[4+padded:]
	}
	return nil
}
