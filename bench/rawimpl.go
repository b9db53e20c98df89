package bench

import (
	"fmt"

	"github.com/ov2dev/ov2/esp"
)

// The dispatched implementation's raw limit (issue 13 point 4): for AES-GCM and AES-GMAC the
// engine's transform runs the implementation esp chose when the SA was added (our VAES code
// where the CPU has it, else crypto/cipher or the portable core), and for AES-CBC on
// ImplVAES its encryption and decryption are ours (decryption eight blocks at a time), so besides the standard
// library's loop (raw.go) each such row is compared with a loop of that implementation on
// the same bytes: esp.Transform.Seal or Open of the ESP region (SPI through next header, the
// ICV behind it), on one goroutine, with no rings, lookups or framing. Reaching the core
// through esp's own entry points adds the nonce and AAD set-up Seal and Open do per packet (a
// few nanoseconds); esp does not export its cores, and this is the code the lanes call.
//
// Seal runs in place over the same region again and again (sealing ciphertext is as good as
// sealing plaintext). Open decrypts in place, so for AES-GCM the sealed bytes are copied back
// before every Open; that copy is also run on its own after every round of the slice, and
// the fastest such round is taken off each round's time (measureSlice), so the figure is
// Open alone. AES-GMAC's Open only verifies and
// needs no copy. When the engine dispatched to crypto/cipher itself there is nothing to
// measure twice: the row's implementation figures are the standard library's (Row.ImplSame).

// implRaw is the raw loop of one dispatched implementation: an ESP transform, or for AH the
// ICV code the AH transform calls (esp.Auth) over the whole datagram, as the standard
// library's AH loop hashes it.
type implRaw struct {
	tr      *esp.Transform
	auth    *esp.Auth // AH; tr is nil then
	s       *esp.Scratch
	regions []implRegion
	restore bool // Open of AES-GCM or AES-CBC: copy the sealed bytes back before each Open
}

// implRegion is one packet's ESP region, or for AH its datagram.
type implRegion struct {
	pkt    []byte   // seal: SPI through next header, with ICV tailroom; open: through the ICV
	sealed []byte   // open: the region as sealed, for restore
	parts  [][]byte // AH: the datagram, as esp.Auth takes it
	icv    []byte   // AH: its ICV (open compares, seal writes)
}

// newImplRawLoop lays out one cycle of the size's packets for algorithm a, keyed as the
// standard library's loop is, on a transform pinned to impl, and checks once that Open
// accepts what Seal made.
func newImplRawLoop(size Size, a Algo, op RawOp, impl esp.Impl) (*rawLoop, error) {
	if op != RawSeal && op != RawOpen {
		return nil, fmt.Errorf("bench: raw %s is computed, not run", op)
	}
	if a.isAH() {
		return newAuthRawLoop(size, a, op)
	}
	p := esp.Params{Alg: a.espAlg(), KeyMat: keyMat(firstSPI, a.keyLen()), Impl: impl}
	if a.integrity() != esp.IntegrityNone {
		p.KeyMat, p.IntegrityKey = suiteKeys(firstSPI, a)
		p.Integrity = a.integrity()
	}
	tr, err := esp.NewTransform(p)
	if err != nil {
		return nil, err
	}
	x := &implRaw{tr: tr, s: new(esp.Scratch), restore: op == RawOpen && a != GMAC && a.espAlg() != esp.NULL}
	l := &rawLoop{op: op, impl: x}
	for _, w := range a.wirePattern(size) {
		espLen := w - 20 - tr.ICVLen() // SPI through next header
		buf := make([]byte, espLen, espLen+esp.MaxICVLen)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		esp.PutHeader(buf, firstSPI, 1)
		if a.integrity() != esp.IntegrityNone {
			// A trailer Open accepts (AES-CBC and NULL check it): the padding the transform
			// asks for, pad length, next header UDP.
			off := esp.HeaderLen + tr.IVLen()
			for pad := 0; pad < 16; pad++ {
				if n := espLen - off - esp.TrailerLen - pad; n >= 0 && tr.PadLen(n) == pad {
					esp.AppendTrailer(buf[:off+n], pad, 17)
					break
				}
			}
		}
		r := implRegion{pkt: buf}
		sealed, err := tr.Seal(x.s, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("bench: raw %s %s %s (%s): %v", op, a, size, impl, err)
		}
		if op == RawOpen {
			r.pkt = sealed
			r.sealed = append([]byte(nil), sealed...)
			if _, err := tr.Open(x.s, r.pkt, 0); err != nil {
				return nil, fmt.Errorf("bench: raw %s %s %s (%s): open refuses what seal made: %v", op, a, size, impl, err)
			}
			copy(r.pkt, r.sealed)
		}
		x.regions = append(x.regions, r)
		l.wireBytes += w
	}
	return l, nil
}

// newAuthRawLoop is newImplRawLoop for AH: esp.Auth (the HMAC the AH transform runs) over
// each whole datagram of the pattern, keyed as the standard library's loop is.
func newAuthRawLoop(size Size, a Algo, op RawOp) (*rawLoop, error) {
	_, key := suiteKeys(firstSPI, a)
	auth, err := esp.NewAuth(a.integrity(), key)
	if err != nil {
		return nil, err
	}
	x := &implRaw{auth: auth, s: new(esp.Scratch)}
	l := &rawLoop{op: op, impl: x}
	for _, w := range a.wirePattern(size) {
		msg := make([]byte, w)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		r := implRegion{pkt: msg, parts: [][]byte{msg}, icv: make([]byte, auth.ICVLen())}
		if err := auth.Sum(x.s, r.icv, nil, r.parts...); err != nil {
			return nil, fmt.Errorf("bench: raw %s %s %s (%s): %v", op, a, size, auth.Impl(), err)
		}
		if err := auth.Verify(x.s, r.icv, nil, r.parts...); err != nil {
			return nil, fmt.Errorf("bench: raw %s %s %s (%s): verify refuses what sum made: %v", op, a, size, auth.Impl(), err)
		}
		x.regions = append(x.regions, r)
		l.wireBytes += w
	}
	return l, nil
}

// name is the implementation's name for the raw rows.
func (x *implRaw) name() string {
	if x.auth != nil {
		return "AH " + x.auth.Impl() + " via esp.Auth"
	}
	return x.tr.Impl() + " via esp.Transform"
}

// step seals or opens packet i (mod the pattern).
func (x *implRaw) step(i int, op RawOp) {
	r := &x.regions[i%len(x.regions)]
	if x.auth != nil {
		var err error
		if op == RawSeal {
			err = x.auth.Sum(x.s, r.icv, nil, r.parts...)
		} else {
			err = x.auth.Verify(x.s, r.icv, nil, r.parts...)
		}
		if err != nil {
			panic(err) // checked in newAuthRawLoop; the bytes do not change
		}
		return
	}
	if op == RawSeal {
		if _, err := x.tr.Seal(x.s, r.pkt, 0); err != nil {
			panic(err) // checked in newImplRawLoop
		}
		return
	}
	if x.restore {
		copy(r.pkt, r.sealed)
	}
	if _, err := x.tr.Open(x.s, r.pkt, 0); err != nil {
		panic(err) // checked in newImplRawLoop; the bytes are restored every time
	}
}

// restoreOnly is step's copy alone, timed to be taken off step's time.
func (x *implRaw) restoreOnly(i int) {
	r := &x.regions[i%len(x.regions)]
	copy(r.pkt, r.sealed)
}
