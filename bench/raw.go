package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"runtime"
	"time"

	"github.com/ov2dev/ov2/esp"
)

// RawOp is what a raw-limit loop does.
type RawOp uint8

// Raw operations.
const (
	RawSeal     RawOp = iota // crypto/cipher Seal: the limit of encrypt rows
	RawOpen                  // crypto/cipher Open: the limit of decrypt rows
	RawSealOpen              // 1/(1/seal + 1/open), computed: the limit of round-trip rows
)

var rawOpNames = []string{"seal", "open", "seal+open"}

func (r RawOp) String() string {
	if int(r) < len(rawOpNames) {
		return rawOpNames[r]
	}
	return fmt.Sprintf("RawOp(%d)", uint8(r))
}

// rawOpFor is the raw loop a mode is compared with.
func rawOpFor(m Mode) RawOp {
	switch m {
	case Decrypt:
		return RawOpen
	case Roundtrip:
		return RawSealOpen
	}
	return RawSeal
}

// rawRegion is one packet of a raw loop: the bytes the AEAD sees for an ESP packet of a
// given wire size, laid out as ESP lays them out.
type rawRegion struct {
	aad   []byte // GCM: SPI ‖ seq (8 bytes); GMAC: SPI through next header
	text  []byte // GCM: payload, padding, pad length, next header; GMAC: empty
	box   []byte // GCM: text sealed (ciphertext ‖ tag); GMAC: the tag
	out   []byte // where Seal and Open write (Open out of place, so the box stays intact)
	nonce []byte
}

// newRawRegion lays out the AEAD input of a wire-size packet for algorithm a and seals it
// once, so that Open has something valid to open.
func newRawRegion(aead cipher.AEAD, a Algo, wire int) rawRegion {
	espLen := wire - 20 - 16 // SPI through next header
	r := rawRegion{nonce: make([]byte, 12)}
	for i := range r.nonce {
		r.nonce[i] = byte(i * 11)
	}
	region := make([]byte, espLen)
	for i := range region {
		region[i] = byte(i * 7)
	}
	if a == GMAC {
		r.aad = region
		r.box = aead.Seal(nil, r.nonce, nil, r.aad)
		r.out = make([]byte, 0, 16)
		return r
	}
	r.aad = region[:8]
	r.text = region[16:] // after the IV
	r.box = aead.Seal(nil, r.nonce, r.text, r.aad)
	r.out = make([]byte, 0, len(r.text)+16)
	return r
}

// rawLoop is the raw limit's loop body for one size, algorithm and operation: packet i
// of the size's pattern, sealed or opened by crypto/cipher. It is shared by Run and the Go
// benchmark suite, so both measure the same code.
type rawLoop struct {
	aead      cipher.AEAD
	op        RawOp
	regions   []rawRegion
	etm       *etmRaw  // the encrypt-then-MAC suites and AH (rawetm.go); nil for AES-GCM
	impl      *implRaw // the dispatched AES-GCM implementation (rawimpl.go); nil for crypto/cipher
	wireBytes int      // of one cycle of the pattern
}

func newRawLoop(size Size, a Algo, op RawOp) (*rawLoop, error) {
	if op != RawSeal && op != RawOpen {
		return nil, fmt.Errorf("bench: raw %s is computed, not run", op)
	}
	if a.integrity() != esp.IntegrityNone {
		return newETMRawLoop(size, a, op)
	}
	key := keyMat(firstSPI, a.keyLen())[:a.keyLen()]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	l := &rawLoop{op: op}
	if l.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	for _, w := range size.Pattern() {
		l.regions = append(l.regions, newRawRegion(l.aead, a, w))
		l.wireBytes += w
	}
	// Check once that Open accepts what Seal made: a raw loop that fails is no limit.
	for _, r := range l.regions {
		if _, err := l.aead.Open(r.out[:0], r.nonce, r.box, r.aad); err != nil {
			return nil, fmt.Errorf("bench: raw %s %s %s: %v", op, a, size, err)
		}
	}
	return l, nil
}

// step seals or opens packet i (mod the pattern).
func (l *rawLoop) step(i int) {
	if l.etm != nil {
		l.etm.step(i, l.op)
		return
	}
	if l.impl != nil {
		l.impl.step(i, l.op)
		return
	}
	r := &l.regions[i%len(l.regions)]
	if l.op == RawSeal {
		l.aead.Seal(r.out[:0], r.nonce, r.text, r.aad)
		return
	}
	if _, err := l.aead.Open(r.out[:0], r.nonce, r.box, r.aad); err != nil {
		panic(err) // checked in newRawLoop; the bytes do not change
	}
}

// rawSlice is what one measurement of a raw loop saw.
type rawSlice struct {
	packets uint64
	seconds float64 // the loop's own time: for a loop with a restore copy, without the copy
	mallocs uint64
}

// size is the number of packets in one cycle of the loop's pattern.
func (l *rawLoop) size() int {
	switch {
	case l.etm != nil:
		return len(l.etm.regions)
	case l.impl != nil:
		return len(l.impl.regions)
	}
	return len(l.regions)
}

// measureSlice runs the loop on this goroutine for about dur after a short warm-up (the
// engine of the row beside it has just had the caches) and returns what it did. A loop
// whose step copies the packet back first (implRaw.restore) also runs that copy alone after
// every round, and the fastest such round is taken off every round's time, so the figure is
// the operation alone (the fastest, so that a copy round the OS happened to interrupt does
// not take the operation's own time off with it).
func measureSlice(ctx context.Context, l *rawLoop, dur time.Duration) (rawSlice, error) {
	n := l.size()
	// Rounds of about 50 µs between clock reads.
	per := max(n, 50_000/(100+l.wireBytes/n/4)/n*n)
	run := func() {
		for i := range per {
			l.step(i)
		}
	}
	undo := l.impl != nil && l.impl.restore
	start := time.Now()
	for rounds := 1; time.Since(start) < max(dur/10, time.Millisecond); rounds++ {
		run()
		if rounds%64 == 0 && ctx.Err() != nil {
			return rawSlice{}, ctx.Err()
		}
	}
	var m0, m1 runtime.MemStats
	readMemStats(&m0)
	var pkts uint64
	var steps, copyMin time.Duration // undo: time in step rounds; the fastest copy round
	t0 := time.Now()
	var el time.Duration
	rounds := 1
	for ; el < dur; rounds++ {
		s0 := time.Now()
		run()
		pkts += uint64(per)
		if undo {
			c0 := time.Now()
			steps += c0.Sub(s0)
			for i := range per {
				l.impl.restoreOnly(i)
			}
			if c := time.Since(c0); rounds == 1 || c < copyMin {
				copyMin = c
			}
		}
		el = time.Since(t0)
		if rounds%64 == 0 && ctx.Err() != nil {
			return rawSlice{}, ctx.Err()
		}
	}
	runtime.ReadMemStats(&m1)
	s := rawSlice{packets: pkts, seconds: el.Seconds(), mallocs: m1.Mallocs - m0.Mallocs}
	if undo {
		s.seconds = (steps - time.Duration(rounds-1)*copyMin).Seconds()
	}
	return s, nil
}

// rawRowOf is the row of a loop's measurements taken together.
func rawRowOf(size Size, a Algo, op RawOp, wire float64, s rawSlice) RawRow {
	r := RawRow{Size: size.String(), Algo: a.String(), Op: op.String(), WireBytes: wire, Packets: s.packets, Seconds: s.seconds}
	if s.packets > 0 && s.seconds > 0 {
		r.Mpps = float64(s.packets) / s.seconds / 1e6
		r.Gbps = float64(s.packets) * wire * 8 / s.seconds / 1e9
		r.NsPerPacket = s.seconds * 1e9 / float64(s.packets)
		r.AllocsPerPacket = float64(s.mallocs) / float64(s.packets)
	}
	return r
}

// combineRaw is the round-trip limit: one core that seals and then opens every packet.
func combineRaw(seal, open RawRow) RawRow {
	r := RawRow{Size: seal.Size, Algo: seal.Algo, Op: RawSealOpen.String(), WireBytes: seal.WireBytes, Derived: true}
	if seal.Mpps > 0 && open.Mpps > 0 {
		r.Mpps = 1 / (1/seal.Mpps + 1/open.Mpps)
		r.Gbps = r.Mpps * 1e6 * r.WireBytes * 8 / 1e9
		r.NsPerPacket = seal.NsPerPacket + open.NsPerPacket
	}
	r.AllocsPerPacket = seal.AllocsPerPacket + open.AllocsPerPacket
	return r
}
