package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

const writerBufSize = 1 << 20

// Writer writes a pcap file (nanosecond resolution, little-endian, version 2.4) of one link
// type. It writes to a temporary file in the destination's directory, named
// ".<base>.tmp-<random>"; Commit flushes, fsyncs and renames it into place; Abort, or Close
// without Commit, removes it. So an interrupted or failed run never leaves a file at the
// destination that looks complete, and an existing file at the destination is replaced
// only by Commit. If a Writer is dropped without Commit, Abort or Close, the temporary
// file is removed when the garbage collector finds the Writer (a process that exits first
// leaves the hidden temporary file behind, never the destination).
//
// The record format is written here rather than with pcapgo.Writer, whose WritePacket
// takes a gopacket.CaptureInfo and whose header write goes through an io.Writer interface;
// Write and WriteV do not allocate. A Writer is not safe for concurrent use.
type Writer struct {
	path    string
	tmp     string
	f       *os.File
	bw      *bufio.Writer
	snaplen int
	packets uint64
	hdr     [pcapRecordLen]byte
	err     error // sticky: the first write error, or the state after Commit/Abort
	done    bool  // committed or aborted
	cleanup runtime.Cleanup
}

var (
	errCommitted = errors.New("writer already committed")
	errAborted   = errors.New("writer aborted")
)

// Create starts a pcap file at path for packets of link type lt, captured up to snaplen
// bytes (0 or less means MaxSnaplen; more than MaxSnaplen is an error, as the Reader would
// refuse such records). Nothing appears at path before Commit.
func Create(path string, lt LinkType, snaplen int) (*Writer, error) {
	if snaplen <= 0 {
		snaplen = MaxSnaplen
	}
	if snaplen > MaxSnaplen {
		return nil, fmt.Errorf("%s: snaplen %d is more than %d", path, snaplen, MaxSnaplen)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f, bw: bufio.NewWriterSize(f, writerBufSize), snaplen: snaplen}
	var h [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicNanoBE) // a1b23c4d, written little-endian
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, 0
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], uint32(lt))
	w.bw.Write(h[:]) // into an empty 1 MiB buffer: cannot fail
	w.cleanup = runtime.AddCleanup(w, removeTemp, w.tmp)
	return w, nil
}

func removeTemp(name string) { os.Remove(name) }

// header fills w.hdr for a packet of n bytes at ts and returns how many bytes to write.
func (w *Writer) header(ts time.Time, n int) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	sec := ts.Unix()
	if sec < 0 || sec > 1<<32-1 {
		return 0, fmt.Errorf("%s: packet %d: time %v cannot be written in pcap (1970 to 2106)", w.path, w.packets+1, ts)
	}
	capLen := min(n, w.snaplen)
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(sec))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(ts.Nanosecond()))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(n))
	return capLen, nil
}

func (w *Writer) writeErr(err error) error {
	w.err = fmt.Errorf("%s: write: %w", w.path, err)
	return w.err
}

// Write appends one packet with timestamp ts. A packet longer than the snaplen is cut to it
// (its original length is kept in the record). A time outside 1970..2106 is an error for that
// packet only; a write error is returned again by every later call and by Commit, and
// Write after Commit or Abort is an error. Buffered (1 MiB); no allocation.
func (w *Writer) Write(ts time.Time, data []byte) error {
	capLen, err := w.header(ts, len(data))
	if err != nil {
		return err
	}
	if _, err := w.bw.Write(w.hdr[:]); err != nil {
		return w.writeErr(err)
	}
	if _, err := w.bw.Write(data[:capLen]); err != nil {
		return w.writeErr(err)
	}
	w.packets++
	return nil
}

// WriteV appends one packet made of several pieces, typically the link header and the IP
// packet, as Write does with their concatenation. The variadic slice does not escape, so a
// call such as w.WriteV(ts, link, ip) does not allocate.
func (w *Writer) WriteV(ts time.Time, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	capLen, err := w.header(ts, n)
	if err != nil {
		return err
	}
	if _, err := w.bw.Write(w.hdr[:]); err != nil {
		return w.writeErr(err)
	}
	for _, p := range parts {
		if capLen == 0 {
			break
		}
		p = p[:min(len(p), capLen)]
		if _, err := w.bw.Write(p); err != nil {
			return w.writeErr(err)
		}
		capLen -= len(p)
	}
	w.packets++
	return nil
}

// Packets returns the number of packets written.
func (w *Writer) Packets() uint64 { return w.packets }

// Commit flushes the buffer, fsyncs the temporary file, gives it the permissions of the
// file it replaces (0644 for a new file), renames it to the destination and fsyncs the
// directory. On any error the temporary file is removed and nothing at the destination
// changes. After Commit, Abort and Close do nothing, so `defer w.Abort()` is safe.
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
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(w.path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"write", w.bw.Flush},
		{"chmod", func() error { return w.f.Chmod(mode) }},
		{"fsync", w.f.Sync},
		{"close", w.f.Close},
		{"rename", func() error { return os.Rename(w.tmp, w.path) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			w.f.Close()
			os.Remove(w.tmp)
			w.finish()
			w.err = fmt.Errorf("%s: %s: %w", w.path, s.what, err)
			return w.err
		}
	}
	w.finish()
	w.err = fmt.Errorf("%s: %w", w.path, errCommitted)
	// Make the rename itself durable. Not every file system can fsync a directory; the
	// file is in place either way, so this is best effort.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (w *Writer) finish() {
	w.done = true
	w.cleanup.Stop()
}

// Abort discards everything written and removes the temporary file. It does nothing after
// Commit or a previous Abort.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.finish()
	w.err = fmt.Errorf("%s: %w", w.path, errAborted)
	cerr := w.f.Close()
	if err := os.Remove(w.tmp); err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	if cerr != nil {
		return fmt.Errorf("%s: %w", w.path, cerr)
	}
	return nil
}

// Close is Abort when Commit has not been called, and does nothing after Commit.
func (w *Writer) Close() error { return w.Abort() }
