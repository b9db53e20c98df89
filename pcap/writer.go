package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ov2dev/ov2/internal/outfile"
)

const writerBufSize = 1 << 20

// Format is the file format a Writer writes.
type Format int

const (
	// FormatPcap is a pcap file: nanosecond timestamps, little-endian, version 2.4, one link
	// type for the whole file.
	FormatPcap Format = iota
	// FormatPcapng is a pcapng file: one section, little-endian, one interface (IDB) per
	// link type written, nanosecond timestamps (if_tsresol 9), enhanced packet blocks.
	FormatPcapng
)

// String returns "pcap" or "pcapng", as Reader.Format does.
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// FormatFor returns FormatPcapng for a path ending in ".pcapng" (in any case) and
// FormatPcap for anything else, "-" included. It is a convenience for the caller, which
// decides the format: a Writer never guesses.
func FormatFor(path string) Format {
	if strings.HasSuffix(strings.ToLower(path), ".pcapng") {
		return FormatPcapng
	}
	return FormatPcap
}

// Options configure CreateOutput and NewStreamWriter. The zero value writes a pcap file
// with a snaplen of MaxSnaplen and refuses nothing.
type Options struct {
	// Format is the file format: FormatPcap (the zero value) or FormatPcapng.
	Format Format
	// Snaplen is the most bytes written of each packet (the rest is counted in the
	// record's original length); 0 or less means MaxSnaplen, more than MaxSnaplen is an
	// error, as the Reader would refuse such records.
	Snaplen int
	// Refuse lists paths the output must not be, typically the inputs: CreateOutput fails
	// when the output is a regular file that is the same file as one of them (os.SameFile:
	// any path to it, a hard link, a symlink). "-" stands for standard input; a path that
	// does not exist is ignored. NewStreamWriter ignores Refuse.
	Refuse []string
}

// outKind is how a Writer reaches its destination.
type outKind uint8

const (
	outTemp    outKind = iota // a temporary file renamed onto the target by Commit
	outInPlace                // a non-regular file (device, FIFO) opened and written in place
	outStream                 // an io.Writer (standard output, NewStreamWriter): never closed
)

// Writer writes a capture, pcap or pcapng (see Format), to one of three destinations:
//
//   - a regular file, or a path where nothing exists yet (CreateOutput, Create): the
//     Writer writes a temporary file in the destination's directory, named
//     ".<base>.tmp-<random>"; Commit flushes, fsyncs and renames it into place; Abort, or
//     Close without Commit, removes it. So an interrupted or failed run never leaves a file
//     at the destination that looks complete, and an existing file there is replaced only
//     by Commit. A symlink is followed: the temporary file is made beside the file it
//     points to (the last link of a chain, which need not exist yet) and renamed onto it,
//     so the symlink stays a symlink. If a Writer is dropped without Commit, Abort or
//     Close, the temporary file is removed when the garbage collector finds the Writer (a
//     process that exits first leaves the hidden temporary file behind, never the
//     destination).
//   - an existing file that is not regular (a character device such as /dev/null, a FIFO),
//     found at the path or behind a symlink: it is opened and written in place, never
//     replaced. Commit flushes and closes it; Abort closes it without flushing what is
//     buffered, but cannot take back what was already written (a reader at the other end
//     of a FIFO may have seen part of the capture, possibly ending inside a record).
//   - a stream: "-" (standard output) for CreateOutput, or any io.Writer for
//     NewStreamWriter. Commit flushes it and Abort drops what is buffered; neither closes
//     it.
//
// Every error names the user's path (Path), never the temporary file, and a write error
// (a full disk, say: "out.pcap: write: no space left on device") is sticky: every later
// write, Flush and Commit return it. The Writer buffers 1 MiB; call Flush now and then
// (once a second, say) so that a full disk or a closed pipe is noticed soon even at a low
// packet rate. WritePackets writes a large burst to a file straight from the packets
// (writev), past the buffer.
//
// The records are encoded here rather than with pcapgo, whose writers take a
// gopacket.CaptureInfo and write through an io.Writer interface; no write allocates, in
// either format, once each link type has been written once. A Writer is not safe for
// concurrent use.
type Writer struct {
	path    string        // the user's path, for messages
	out     *outfile.File // outTemp, outInPlace: the file and where it goes (package outfile)
	kind    outKind
	f       *os.File // the file written (temporary or in place); nil for a stream
	bw      *bufio.Writer
	format  Format
	snaplen int
	first   LinkType
	ifaces  []LinkType // pcapng: the link type of each interface, by interface id
	lastIf  int        // pcapng: the interface of the last packet
	packets uint64
	hdr     [32]byte // record or block header being written
	tail    [8]byte  // pcapng: padding and trailing block length
	err     error    // sticky: the first write error, or the state after Commit/Abort
	done    bool     // committed or aborted
	cleanup runtime.Cleanup

	// WritePackets' writev (burst.go): record headers, the pieces, the file's RawConn.
	slab   []byte
	iov    [][]byte
	iovecs []iovec
	rc     syscall.RawConn
	// writev's state, for writevOnce (writev_unix.go).
	writevFn func(fd uintptr) bool
	pending  []iovec
	werr     error
}

var (
	errCommitted = errors.New("writer already committed")
	errAborted   = errors.New("writer aborted")
)

// Create starts a pcap file at path for packets of link type lt, captured up to snaplen
// bytes (0 or less means MaxSnaplen). It is CreateOutput(path, lt, Options{Snaplen:
// snaplen}), kept for its callers, except that "-" is a file named "-" here, not standard
// output. Nothing appears at a regular destination before Commit.
func Create(path string, lt LinkType, snaplen int) (*Writer, error) {
	return createOutput(path, lt, Options{Snaplen: snaplen}, false)
}

// CreateOutput opens the output path for a capture whose first link type is first (the
// link type of a pcap file; the first interface of a pcapng file), in the format and with
// the snaplen of o. See Writer for the three kinds of destination: "-" is standard output,
// an existing non-regular file (or one behind a symlink) is written in place, and anything
// else goes to a temporary file beside the destination (beside a symlink's target) that
// Commit renames into place.
//
// It fails, naming path, when path is a directory, when it is (by any path, a hard link or
// a symlink) one of o.Refuse ("out.pcap: refusing to overwrite the input in.pcap (the same
// file)"), or when the destination's directory does not take a new file ("out.pcap: cannot
// write to directory ro: read-only file system"), so a run fails before it starts rather
// than at Commit. Opening a FIFO blocks until a reader opens its other end.
func CreateOutput(path string, first LinkType, o Options) (*Writer, error) {
	return createOutput(path, first, o, true)
}

// NewStreamWriter writes a capture to out, a stream that is flushed by Flush and Commit and
// never closed; name is what errors and Path report. o.Refuse is ignored.
func NewStreamWriter(out io.Writer, name string, first LinkType, o Options) (*Writer, error) {
	w, err := newWriter(name, first, o)
	if err != nil {
		return nil, err
	}
	w.kind = outStream
	w.start(out)
	return w, nil
}

// newWriter checks o and returns a Writer without a destination.
func newWriter(path string, first LinkType, o Options) (*Writer, error) {
	if o.Format != FormatPcap && o.Format != FormatPcapng {
		return nil, fmt.Errorf("%s: unknown output format %v", path, o.Format)
	}
	snaplen := o.Snaplen
	if snaplen <= 0 {
		snaplen = MaxSnaplen
	}
	if snaplen > MaxSnaplen {
		return nil, fmt.Errorf("%s: snaplen %d is more than %d", path, snaplen, MaxSnaplen)
	}
	return &Writer{path: path, format: o.Format, snaplen: snaplen, first: first}, nil
}

// start buffers the file header (pcap) or the section header and first interface
// (pcapng) for out. They go into an empty 1 MiB buffer: the writes cannot fail.
func (w *Writer) start(out io.Writer) {
	w.bw = bufio.NewWriterSize(out, writerBufSize)
	if w.format == FormatPcap {
		var h [pcapHeaderLen]byte
		binary.LittleEndian.PutUint32(h[0:], magicNanoBE) // a1b23c4d, written little-endian
		binary.LittleEndian.PutUint16(h[4:], 2)
		binary.LittleEndian.PutUint16(h[6:], 4)
		// h[8:16]: thiszone and sigfigs, 0
		binary.LittleEndian.PutUint32(h[16:], uint32(w.snaplen))
		binary.LittleEndian.PutUint32(h[20:], uint32(w.first))
		w.bw.Write(h[:])
		return
	}
	w.bw.Write(ngSectionHeader())
	w.addInterface(w.first)
}

func removeTemp(name string) { os.Remove(name) }

// Path returns the output's path as the caller gave it ("-" for standard output; the name
// given to NewStreamWriter), for messages.
func (w *Writer) Path() string { return w.path }

// TempPath returns the temporary file a regular destination is written to until Commit
// ("" for other destinations). It does not change after CreateOutput, so it may be read
// from any goroutine: a program that must exit at once (a second Ctrl-C) removes it.
func (w *Writer) TempPath() string {
	if w.out == nil {
		return ""
	}
	return w.out.Temp
}

// Format returns the format being written.
func (w *Writer) Format() Format { return w.format }

// Packets returns the number of packets written.
func (w *Writer) Packets() uint64 { return w.packets }

// maxNgSeconds is the last second a pcapng timestamp (an unsigned 64-bit count of
// nanoseconds) can hold in full: 2554-07-21T23:34:32Z.
const maxNgSeconds = math.MaxUint64/1_000_000_000 - 1

// begin checks a packet of n bytes (origLen on the wire) and writes its record header. It
// returns how many of the n bytes to write. A packet the file cannot hold is an error for
// that packet only.
func (w *Writer) begin(ts time.Time, lt LinkType, n, origLen int) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	capLen, hl, err := w.encode(w.hdr[:], ts, lt, n, origLen)
	if err != nil {
		return 0, err
	}
	if _, err := w.bw.Write(w.hdr[:hl]); err != nil {
		return 0, w.writeErr(err)
	}
	return capLen, nil
}

// encode checks a packet of n bytes (origLen on the wire) and puts its record header in
// h (32 bytes at least), returning how many of the n bytes the record holds and the
// header's length. A pcapng link type not written before gets its interface here, written
// to the buffer.
func (w *Writer) encode(h []byte, ts time.Time, lt LinkType, n, origLen int) (capLen, hdrLen int, err error) {
	origLen = max(origLen, n)
	if origLen > math.MaxUint32 {
		return 0, 0, fmt.Errorf("%s: packet %d: original length %d is more than a capture can record", w.path, w.packets+1, origLen)
	}
	capLen = min(n, w.snaplen)
	sec := ts.Unix()
	if w.format == FormatPcap {
		if lt != w.first {
			return 0, 0, fmt.Errorf("%s: packet %d is %s but a pcap file holds one link type, %s: write pcapng (a .pcapng output) to keep both",
				w.path, w.packets+1, lt.describe(), w.first.describe())
		}
		if sec < 0 || sec > math.MaxUint32 {
			return 0, 0, fmt.Errorf("%s: packet %d: time %v cannot be written in pcap (1970 to 2106)", w.path, w.packets+1, ts)
		}
		binary.LittleEndian.PutUint32(h[0:], uint32(sec))
		binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()))
		binary.LittleEndian.PutUint32(h[8:], uint32(capLen))
		binary.LittleEndian.PutUint32(h[12:], uint32(origLen))
		return capLen, pcapRecordLen, nil
	}
	if sec < 0 || sec > maxNgSeconds {
		return 0, 0, fmt.Errorf("%s: packet %d: time %v cannot be written in pcapng (1970 to 2554)", w.path, w.packets+1, ts)
	}
	iface, err := w.iface(lt)
	if err != nil {
		return 0, 0, err
	}
	stamp := uint64(sec)*1e9 + uint64(ts.Nanosecond())
	binary.LittleEndian.PutUint32(h[0:], ngBlockEPB)
	binary.LittleEndian.PutUint32(h[4:], uint32(ngEPBLen(capLen)))
	binary.LittleEndian.PutUint32(h[8:], uint32(iface))
	binary.LittleEndian.PutUint32(h[12:], uint32(stamp>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(stamp))
	binary.LittleEndian.PutUint32(h[20:], uint32(capLen))
	binary.LittleEndian.PutUint32(h[24:], uint32(origLen))
	return capLen, ngEPBHeaderLen, nil
}

// end finishes a record of capLen bytes: pcapng padding and trailing length.
func (w *Writer) end(capLen int) error {
	if w.format == FormatPcapng {
		pad := -capLen & 3
		clear(w.tail[:pad])
		binary.LittleEndian.PutUint32(w.tail[pad:], uint32(ngEPBLen(capLen)))
		if _, err := w.bw.Write(w.tail[:pad+4]); err != nil {
			return w.writeErr(err)
		}
	}
	w.packets++
	return nil
}

// iface returns the pcapng interface of link type lt, adding one (an interface description
// block in the stream) the first time lt is written.
func (w *Writer) iface(lt LinkType) (int, error) {
	if w.ifaces[w.lastIf] == lt {
		return w.lastIf, nil
	}
	for i, known := range w.ifaces {
		if known == lt {
			w.lastIf = i
			return i, nil
		}
	}
	if len(w.ifaces) == maxLinkTypes {
		return 0, fmt.Errorf("%s: packet %d is %s, but the file already has %d link types, as many as a reader accepts",
			w.path, w.packets+1, lt.describe(), maxLinkTypes)
	}
	if err := w.addInterface(lt); err != nil {
		return 0, err
	}
	w.lastIf = len(w.ifaces) - 1
	return w.lastIf, nil
}

// addInterface writes an interface description block for lt.
func (w *Writer) addInterface(lt LinkType) error {
	b := w.hdr[:ngIDBLen]
	binary.LittleEndian.PutUint32(b[0:], ngBlockIDB)
	binary.LittleEndian.PutUint32(b[4:], ngIDBLen)
	binary.LittleEndian.PutUint16(b[8:], uint16(lt))
	binary.LittleEndian.PutUint16(b[10:], 0) // reserved
	binary.LittleEndian.PutUint32(b[12:], uint32(w.snaplen))
	binary.LittleEndian.PutUint16(b[16:], ngOptTSResol)
	binary.LittleEndian.PutUint16(b[18:], 1)
	b[20], b[21], b[22], b[23] = 9, 0, 0, 0 // 10^-9 seconds, padded to 4 bytes
	binary.LittleEndian.PutUint32(b[24:], ngOptEnd)
	binary.LittleEndian.PutUint32(b[28:], ngIDBLen)
	if _, err := w.bw.Write(b); err != nil {
		return w.writeErr(err)
	}
	w.ifaces = append(w.ifaces, lt)
	return nil
}

func (w *Writer) writeErr(err error) error {
	w.err = fmt.Errorf("%s: write: %w", w.path, outfile.Cause(err))
	return w.err
}

// WritePacket appends one packet of link type lt captured at ts: data is what was captured
// and origLen the packet's length on the wire (less than len(data), 0 say, means
// len(data)), which the record keeps. A packet longer than the snaplen is cut to it.
//
// A pcap file holds one link type, the first: a packet of another is refused with an error
// that names both ("out.pcap: packet 7 is Raw (101) but a pcap file holds one link type,
// Ethernet (1): write pcapng (a .pcapng output) to keep both"). A pcapng file gets a new
// interface the first time a link type is written. That error, and a time the format
// cannot hold (pcap: 1970 to 2106, pcapng: 1970 to 2554), fail that packet only; a write
// error is returned again by every later call and by Commit, and a write after Commit or
// Abort is an error. No allocation.
func (w *Writer) WritePacket(ts time.Time, lt LinkType, data []byte, origLen int) error {
	capLen, err := w.begin(ts, lt, len(data), origLen)
	if err != nil {
		return err
	}
	if _, err := w.bw.Write(data[:capLen]); err != nil {
		return w.writeErr(err)
	}
	return w.end(capLen)
}

// WritePacketV is WritePacket with the packet given in pieces, typically the link header
// and the IP packet. The variadic slice does not escape, so a call such as
// w.WritePacketV(ts, lt, 0, link, ip) does not allocate.
func (w *Writer) WritePacketV(ts time.Time, lt LinkType, origLen int, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	capLen, err := w.begin(ts, lt, n, origLen)
	if err != nil {
		return err
	}
	left := capLen
	for _, p := range parts {
		if left == 0 {
			break
		}
		p = p[:min(len(p), left)]
		if _, err := w.bw.Write(p); err != nil {
			return w.writeErr(err)
		}
		left -= len(p)
	}
	return w.end(capLen)
}

// Write appends one packet of the first link type with timestamp ts, as WritePacket(ts,
// first, data, len(data)).
func (w *Writer) Write(ts time.Time, data []byte) error {
	return w.WritePacket(ts, w.first, data, 0)
}

// WriteV appends one packet of the first link type made of several pieces, as
// WritePacketV(ts, first, 0, parts...). A call such as w.WriteV(ts, link, ip) does not
// allocate.
func (w *Writer) WriteV(ts time.Time, parts ...[]byte) error {
	return w.WritePacketV(ts, w.first, 0, parts...)
}

// Flush writes what is buffered to the destination (to the temporary file, for a regular
// destination; no fsync). It returns the sticky error of an earlier write, or of this one
// ("out.pcap: write: no space left on device"); after Commit or Abort it returns their
// state as Write does.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return w.writeErr(err)
	}
	return nil
}

// Commit finishes the output. For a regular destination it flushes the buffer, fsyncs the
// temporary file, gives it the permissions of the file it replaces (0644 for a new file),
// renames it onto the destination and fsyncs the directory; on any error the temporary
// file is removed and nothing at the destination changes. A file written in place is
// flushed and closed, a stream flushed. After Commit, Abort and Close do nothing, so
// `defer w.Abort()` is safe; a second Commit, or a write, returns "<path>: writer already
// committed".
func (w *Writer) Commit() error {
	if w.done {
		return w.err
	}
	if w.err != nil {
		err := w.err
		w.Abort()
		w.err = err
		return err
	}
	if err := w.bw.Flush(); err != nil {
		w.release()
		w.err = fmt.Errorf("%s: write: %w", w.path, outfile.Cause(err))
		return w.err
	}
	if w.out != nil {
		if err := w.out.Commit(); err != nil {
			w.finish()
			w.err = err
			return err
		}
	}
	w.finish()
	w.err = fmt.Errorf("%s: %w", w.path, errCommitted)
	return nil
}

func (w *Writer) finish() {
	w.done = true
	w.cleanup.Stop()
}

// release closes the file (if any) and removes the temporary file (if any), returning the
// first error, and marks the Writer done.
func (w *Writer) release() error {
	w.finish()
	if w.out == nil {
		return nil
	}
	return w.out.Abort()
}

// Abort discards the output: it removes the temporary file of a regular destination, and
// closes a file written in place (or leaves a stream) without flushing what is buffered;
// what already reached a device or FIFO cannot be taken back. After Abort, writes and
// Commit return "<path>: writer aborted", or the write error that came first. Abort does
// nothing after Commit or a previous Abort.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	err := w.release()
	if w.err == nil {
		w.err = fmt.Errorf("%s: %w", w.path, errAborted)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", w.path, outfile.Cause(err))
	}
	return nil
}

// Close is Abort when Commit has not been called, and does nothing after Commit.
func (w *Writer) Close() error { return w.Abort() }
