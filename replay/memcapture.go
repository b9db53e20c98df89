package replay

import (
	"io"

	"github.com/ov2dev/ov2/pcap"
)

// maxHeld is the most captured bytes a run keeps in memory to replay its later loops from;
// a larger capture is read again on every loop, as before.
const maxHeld = 1 << 30

// heldCapture is a capture read once and kept in memory, so that every loop after the
// first replays the same records without opening, parsing or buffering the input again.
// The records' Data point into chunks that are never reused or moved, so a record stays
// valid for the whole run (the output may keep it).
type heldCapture struct {
	recs     []pcap.Record
	chunk    []byte // the chunk being filled; full chunks stay reachable through recs
	bytes    int
	full     bool // over maxHeld: given up, the input is read again on every loop
	link     pcap.LinkType
	complete bool // the first loop read the input to its end
}

// chunkSize is how much capture data one allocation holds (a larger record gets its own).
const chunkSize = 1 << 20

// keep copies a record read from the input into the held capture.
func (h *heldCapture) keep(rec pcap.Record) {
	if h.full {
		return
	}
	n := len(rec.Data)
	if h.bytes+n > maxHeld {
		h.full, h.recs, h.chunk = true, nil, nil
		return
	}
	if cap(h.chunk)-len(h.chunk) < n {
		h.chunk = make([]byte, 0, max(chunkSize, n))
	}
	start := len(h.chunk)
	h.chunk = append(h.chunk, rec.Data...)
	rec.Data = h.chunk[start:len(h.chunk):len(h.chunk)]
	h.recs = append(h.recs, rec)
	h.bytes += n
}

// recordingReader reads the input for the first loop and keeps what it yields.
type recordingReader struct {
	Reader
	h *heldCapture
}

func (r *recordingReader) Next() (pcap.Record, error) {
	rec, err := r.Reader.Next()
	if err == nil {
		r.h.keep(rec)
	}
	return rec, err
}

// heldReader replays a held capture.
type heldReader struct {
	h *heldCapture
	i int
}

func (r *heldReader) Next() (pcap.Record, error) {
	if r.i == len(r.h.recs) {
		return pcap.Record{}, io.EOF
	}
	r.i++
	return r.h.recs[r.i-1], nil
}

func (r *heldReader) LinkType() pcap.LinkType { return r.h.link }
func (r *heldReader) Close() error            { return nil }

// openLoop opens the input for a loop: a loop replays the held capture once one was read to
// its end (by the first loop, or before it by loadOriginals) and was not too large to keep;
// otherwise it reads the input, and the first loop keeps it when there are more to come.
func (r *run) openLoop(loop int, h *heldCapture) (Reader, error) {
	if h.complete && !h.full {
		return &heldReader{h: h}, nil
	}
	rd, err := r.in.Open()
	if err != nil || loop > 0 || r.cfg.Loops < 2 {
		return rd, err
	}
	h.link = rd.LinkType()
	return &recordingReader{Reader: rd, h: h}, nil
}
