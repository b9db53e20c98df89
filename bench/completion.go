package bench

import (
	"runtime"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
)

// The completion side. onSend, onWire and onRecv handle one burst of completions; the
// completion goroutines (closed loop) and the pacer itself (paced phase, see pacedLoop)
// call them. onSend and onRecv compact the units to hand back into the front of the burst
// and return how many there are.

// onSend handles completions of the send path in encrypt rows: every packet must have
// sealed; a segment that is not its large send's last goes back to its pool.
func (e *engine) onSend(buf []*packet.Buffer) int {
	now := packet.Now()
	measuring := e.phase.Load() == phaseMeasure
	var bytes uint64
	k := 0
	for _, p := range buf {
		if p.Tx.Failed() {
			e.failed++
		}
		if measuring {
			bytes += uint64(p.Len())
			e.hist.Record(now - p.Stamp)
		}
		if p.Tx.LSOSegment != p.Tx.LSOCount {
			p.Release()
			continue
		}
		buf[k] = p
		k++
	}
	if measuring {
		e.measured(len(buf), bytes, k)
	}
	return k
}

// measured adds a burst's completions to the window's counts: packets and their bytes, and
// units handed back (packets, or large sends whose last segment came).
func (e *engine) measured(packets int, bytes uint64, units int) {
	e.measPackets += uint64(packets)
	e.measBytes += bytes
	e.measUni += uint64(units)
}

// onWire is the round trip's middle: what the send path completed goes on into the receive
// path, with its send-side entry time kept in the cookie (the receive path stamps it again).
func (e *engine) onWire(buf []*packet.Buffer) {
	for _, p := range buf {
		if p.Tx.Failed() {
			e.midFailed++
		}
		p.Cookie = uint64(p.Stamp)<<cookieIndexBits | p.Cookie&cookieIndexMask
	}
	e.recv.Submit(buf)
}

// onRecv handles completions of the receive path in decrypt and round-trip rows: every
// packet must have verified. For decrypt it readies the packet the NIC decrypted in place
// for its next pass (an AES-GCM twin's ICV, else the sealed bytes where they changed); in a
// round trip the decrypted packet is exactly what the send path seals next.
func (e *engine) onRecv(buf []*packet.Buffer) int {
	now := packet.Now()
	measuring := e.phase.Load() == phaseMeasure
	rt := e.spec.mode == Roundtrip
	var n uint64
	k := 0
	for _, p := range buf {
		if !p.Rx.CryptoDone || p.Rx.CryptoStatus != ndis.CryptoSuccess {
			e.failed++
		}
		stamp := p.Stamp
		if rt {
			stamp = int64(p.Cookie >> cookieIndexBits)
			p.Cookie &= cookieIndexMask
		}
		if measuring {
			n += uint64(p.Len())
			e.hist.Record(now - stamp)
		}
		if !rt {
			// Ready the packet for its next pass. An AES-GCM twin (twin.go) needs only the
			// other state's ICV; an AES-CBC packet, decrypted in place, gets its sealed
			// bytes back. A NULL, AES-GMAC or AH packet is verified without a byte
			// changed, so it is left alone: reading or writing it here would pull its
			// lines across from the lane's core and back. Should the NIC ever write one,
			// the next pass fails its ICV and the row counts it.
			switch t := &e.tmpl[p.Cookie]; {
			case t.twin != nil:
				if !t.rearm(p.Bytes()) {
					e.failed++
					copy(p.Bytes(), t.frame)
				}
			case e.spec.algo.espAlg().Encrypts():
				copy(p.Bytes(), t.frame)
			}
		} else if p.Tx.LSOSegment != p.Tx.LSOCount {
			p.Release()
			continue
		}
		buf[k] = p
		k++
	}
	if measuring {
		e.measured(len(buf), n, k)
	}
	return k
}

// completeSend is the completion goroutine of encrypt rows.
func (e *engine) completeSend() {
	defer e.wg.Done()
	buf := e.sendBuf
	for {
		n, err := e.send.Completions(buf)
		if err != nil {
			e.back.Close()
			return
		}
		e.back.EnqueueWait(buf[:e.onSend(buf[:n])])
	}
}

// wire is the goroutine between the paths of a round trip: the receive path's wire side.
func (e *engine) wire() {
	defer e.wg.Done()
	buf := e.wireBuf
	for {
		n, err := e.send.Completions(buf)
		if err != nil {
			e.recv.Close()
			return
		}
		e.onWire(buf[:n])
	}
}

// completeRecv is the completion goroutine of decrypt and round-trip rows.
func (e *engine) completeRecv() {
	defer e.wg.Done()
	buf := e.recvBuf
	for {
		n, err := e.recv.Completions(buf)
		if err != nil {
			e.back.Close()
			return
		}
		e.back.EnqueueWait(buf[:e.onRecv(buf[:n])])
	}
}

// poll is the paced phase's completion side, run by the pacer between bursts: it takes
// what the paths have completed, without waiting, and puts the units on the free ring.
// It reports whether it found anything.
func (e *engine) poll() bool {
	var buf [64]*packet.Buffer
	found := false
	if e.spec.mode == Roundtrip {
		if n := e.send.Poll(buf[:]); n > 0 {
			e.onWire(buf[:n])
			found = true
		}
	}
	if e.spec.mode == Encrypt {
		if n := e.send.Poll(buf[:]); n > 0 {
			e.free.EnqueueBurst(buf[:e.onSend(buf[:n])])
			found = true
		}
	} else if n := e.recv.Poll(buf[:]); n > 0 {
		e.free.EnqueueBurst(buf[:e.onRecv(buf[:n])])
		found = true
	}
	return found
}

// submit hands units to the NIC; for lso64k a unit that came back is its large send's last
// segment, which is released and replaced by the large send framed again (the NIC released
// the large buffer when it cut it).
func (e *engine) submit(units []*packet.Buffer) {
	if e.lso {
		for i, b := range units {
			if b.Tx.MSS == 0 {
				idx := int(b.Cookie & cookieIndexMask)
				b.Release()
				b = e.large.Get()
				e.prepare(b, idx)
				units[i] = b
			}
		}
	}
	if e.spec.mode == Decrypt {
		e.recv.Submit(units)
	} else {
		e.send.Submit(units)
	}
}

// take moves what came back to the free ring and takes up to len(dst) units from it. If
// none is free and wait is set, it waits for the completion side.
func (e *engine) take(dst []*packet.Buffer, wait bool) int {
	if e.inline {
		for {
			if n := e.free.DequeueBurst(dst); n > 0 || !wait {
				return n
			}
			if !e.poll() {
				runtime.Gosched()
			}
		}
	}
	var tmp [64]*packet.Buffer
	for k := e.back.DequeueBurst(tmp[:]); k > 0; k = e.back.DequeueBurst(tmp[:]) {
		e.free.EnqueueBurst(tmp[:k])
	}
	if n := e.free.DequeueBurst(dst); n > 0 || !wait {
		return n
	}
	n, _ := e.back.DequeueWait(dst)
	return n
}

// drain waits until every unit is back on the free ring.
func (e *engine) drain() {
	var tmp [64]*packet.Buffer
	for e.free.Len() < e.units {
		if e.inline {
			if !e.poll() {
				runtime.Gosched()
			}
			continue
		}
		n, err := e.back.DequeueWait(tmp[:])
		if err != nil {
			return
		}
		e.free.EnqueueBurst(tmp[:n])
	}
}

// reset empties the completion side's counters; only while nothing is in flight.
func (e *engine) reset() {
	e.hist.Reset()
	e.measPackets, e.measBytes, e.measUni = 0, 0, 0
}
