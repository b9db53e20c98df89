package stage_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// addInboundESN offloads an inbound AES-GCM-128 SA with ESN whose ADD_SA names high half
// hi, and returns its handle and a transform with the same key to seal what a peer sends.
func addInboundESN(t testing.TB, ctl *sa.Controller, spi, hi uint32) (sa.Handle, *esp.Transform) {
	t.Helper()
	km := keyFor(spi, 16)
	b := &sa.Bundle{Flags: ndis.SAInbound, NumExtHdrs: 1, KeyData: km, Dst: netip.MustParseAddr("198.51.100.1"),
		SecAssoc: [2]sa.SecAssoc{{Operation: ndis.OpESP, Spi: spi, Flags: ndis.SAFlagESN, SequenceNumberHighOrder: hi,
			EncryptionAlgorithm: sa.Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20}}}}
	if err := ctl.AddSA([]*sa.Bundle{b}, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: km, ESN: true})
	if err != nil {
		t.Fatal(err)
	}
	return b.OffloadHandle, tr
}

// esnFrame is a transport-mode packet with the 64-bit sequence number seq, sealed with tr
// (low half on the wire, high half in the ICV) and a payload that names seq.
func esnFrame(tr *esp.Transform, spi uint32, seq uint64) []byte {
	payload := fmt.Appendf(nil, "packet %#016x", seq)
	p := transportPacket(spi, uint32(seq), payload, 16, 0)
	f := p.Bytes()
	body := f[20 : len(f)-16]
	esp.PutIV(body, seq)
	if _, err := tr.Seal(new(esp.Scratch), body, uint32(seq>>32)); err != nil {
		panic(err)
	}
	return append([]byte(nil), f...)
}

// R-RX-8, issue 12: an inbound ESN SA whose high half is 1 or more verifies from its first
// packet. For high halves 0, 1, 2^31 and 2^32-2 the host names in ADD_SA the high half of
// its replay top T, and streams that start just below, at and above a wrap of the low 32
// bits, one whose first packets were lost across the wrap, and one reordered across it
// (the late packets after the host's UPDATE_SA) all verify, each with its own high half
// reported in the OOB; a forgery still fails and verifies nothing.
func TestRecvESNHighHalf(t *testing.T) {
	for _, h := range []uint32{0, 1, 1 << 31, 1<<32 - 2} {
		base := uint64(h) << 32
		wrap := base + 1<<32 // (h+1):0
		cases := []struct {
			name   string
			top    uint64   // T, the host's replay top; ADD_SA names its high half
			seqs   []uint64 // in arrival order
			update int      // UPDATE_SA to h+1 before the packet with this index (0: none)
		}{
			{"below", base | 0xffffffe8, seqRun(base|0xffffffe9, 40), 0},
			{"at", base | 0xffffffff, seqRun(wrap, 40), 0},
			{"above", wrap | 4, seqRun(wrap|5, 40), 0},
			{"lost-across", base | 0xffffffe8, seqRun(wrap|5, 40), 0},
			{"reordered", base | 0xffffffe8,
				append(append([]uint64{wrap | 7, wrap | 8}, seqRun(base|0xffffffe9, 23)...), seqRun(wrap, 7)...), 2},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("hi=%#x/%s", h, c.name), func(t *testing.T) {
				ctl := sa.NewController(8)
				defer ctl.Close()
				const spi = 0x7100
				handle, tr := addInboundESN(t, ctl, spi, uint32(c.top>>32))
				var frames [][]byte
				for _, s := range c.seqs {
					frames = append(frames, esnFrame(tr, spi, s))
				}
				env := stage.Env{SAs: ctl}
				var got []stage.RecvStats
				check := func(from int, seqs []uint64, frames [][]byte) {
					t.Helper()
					out, st := indicate(t, env, frames...)
					got = append(got, st)
					for i, p := range out {
						rx, s := p.Rx, seqs[i]
						if rx.CryptoStatus != ndis.CryptoSuccess || rx.SeqHi != uint32(s>>32) {
							t.Errorf("packet %d (seq %#x): OOB %v, want success with seqhi %d", from+i, s, rx, s>>32)
							continue
						}
						if want := fmt.Appendf(nil, "packet %#016x", s); !bytes.Contains(p.Bytes(), want) {
							t.Errorf("packet %d (seq %#x): payload not decrypted", from+i, s)
						}
					}
				}
				if c.update == 0 {
					check(0, c.seqs, frames)
				} else {
					check(0, c.seqs[:c.update], frames[:c.update])
					if err := ctl.UpdateSA(sa.Update{OffloadHandle: handle, Operation: ndis.OpESP, Spi: spi,
						SequenceNumberHighOrder: uint32(c.seqs[0] >> 32)}); err != nil {
						t.Fatal(err)
					}
					check(c.update, c.seqs[c.update:], frames[c.update:])
				}
				var ok uint64
				for _, st := range got {
					ok += st.Status[ndis.CryptoSuccess]
				}
				if ok != uint64(len(c.seqs)) {
					t.Errorf("%d CRYPTO_SUCCESS, want %d", ok, len(c.seqs))
				}
				// A forgery of the next number fails both candidates and moves nothing.
				bad := esnFrame(tr, spi, c.seqs[len(c.seqs)-1]+1)
				bad[len(bad)-1] ^= 1
				out, _ := indicate(t, env, bad)
				if out[0].Rx.CryptoStatus != ndis.CryptoTransportESPAuthFailed {
					t.Errorf("forged packet: OOB %v, want ESP auth failed", out[0].Rx)
				}
			})
		}
	}
}

// An SA that has verified nothing yet: a forgery is tried with both candidates, fails, is
// counted once and leaves the SA where it was, so that the real first packet still verifies.
func TestRecvESNForgedFirst(t *testing.T) {
	ctl := sa.NewController(8)
	defer ctl.Close()
	const spi = 0x7200
	_, tr := addInboundESN(t, ctl, spi, 4)
	bad := esnFrame(tr, spi, 5<<32|3) // a second try (subspace 5) would verify it but for the flipped bit
	bad[40] ^= 0x80
	good := esnFrame(tr, spi, 5<<32|3)
	out, st := indicate(t, stage.Env{SAs: ctl}, bad, good)
	if out[0].Rx.CryptoStatus != ndis.CryptoTransportESPAuthFailed || out[0].Rx.SeqHi != 4 {
		t.Errorf("forged: OOB %v, want ESP auth failed with the first candidate's seqhi 4", out[0].Rx)
	}
	if out[1].Rx.CryptoStatus != ndis.CryptoSuccess || out[1].Rx.SeqHi != 5 {
		t.Errorf("real: OOB %v, want success with seqhi 5", out[1].Rx)
	}
	if st.Status[ndis.CryptoSuccess] != 1 || st.Status[ndis.CryptoTransportESPAuthFailed] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// seqRun is n consecutive sequence numbers from first.
func seqRun(first uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = first + uint64(i)
	}
	return s
}
