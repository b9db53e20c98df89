package sa

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Reader is one data-path goroutine's handle on the SA table: it brackets every burst with
// Begin and End so that the control goroutine knows when an old table (and a deleted SA's
// key) is no longer in use. A Reader belongs to one goroutine; Begin/End allocate nothing
// and never block.
type Reader struct {
	c *Controller
	_ [56]byte // keep active on its own cache line: readers write it twice per burst

	// active is the epoch this reader saw on entering its read section, 0 when outside.
	// Written only by the owner goroutine; read by the control goroutine in waitReaders.
	active atomic.Uint64
	_      [56]byte
}

// Begin enters a read section and returns the current table. The table and every SA in it
// stay valid (their keys intact) until End.
func (r *Reader) Begin() *Table {
	// Publish the epoch before loading the table: pairs with the epoch Add and the reader
	// scan in waitReaders. If the control goroutine's scan sees this value (< its new
	// epoch), it waits for End; if it sees a value >= its new epoch, the table Load below
	// happens after its table Store, so this reader holds the new table.
	r.active.Store(r.c.epoch.Load())
	return r.c.table.Load() // pairs with the Store in publish
}

// End leaves the read section. The table returned by Begin must not be used after End.
func (r *Reader) End() {
	r.active.Store(0) // pairs with the Load in waitReaders: releases the old table
}

// Close deregisters the reader. It must be outside a read section.
func (r *Reader) Close() {
	r.End()
	r.c.Run(func(*Tx) { r.c.removeReader(r) })
}

// NewReader registers a reader for a data-path goroutine.
func (c *Controller) NewReader() *Reader {
	r := &Reader{c: c}
	c.Run(func(*Tx) { c.addReader(r) })
	return r
}

func (c *Controller) addReader(r *Reader) {
	old := *c.readers.Load()
	next := append(append(make([]*Reader, 0, len(old)+1), old...), r)
	c.readers.Store(&next)
}

func (c *Controller) removeReader(r *Reader) {
	old := *c.readers.Load()
	next := make([]*Reader, 0, len(old))
	for _, x := range old {
		if x != r {
			next = append(next, x)
		}
	}
	c.readers.Store(&next)
}

// Waiting policy: spin a little (a burst is short), then yield, then sleep, so that a
// reader that was descheduled (the VM's second core can vanish) gets the CPU back.
const (
	graceSpins  = 64
	graceYields = 256
	graceSleep  = 20 * time.Microsecond
)

// waitReaders returns once every reader that could hold a table older than the one just
// published has left its read section. Called on the control goroutine after publish.
func (c *Controller) waitReaders() {
	e := c.epoch.Add(1) // pairs with the epoch Load in Begin
	for _, r := range *c.readers.Load() {
		for n := 0; ; n++ {
			if a := r.active.Load(); a == 0 || a >= e { // pairs with Store in Begin/End
				break
			}
			switch {
			case n < graceSpins:
			case n < graceSpins+graceYields:
				runtime.Gosched()
			default:
				time.Sleep(graceSleep)
			}
		}
	}
}
