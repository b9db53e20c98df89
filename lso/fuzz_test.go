package lso

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// FuzzPrepare feeds arbitrary frames and OOB values to Prepare. It must not panic and may only
// fail with its three sentinels. When it accepts a send, every segment must be well formed:
// lengths add up in every length field, the IPv4 and TCP checksums verify, the trailer parses
// with the right next header and ends on a 4-byte boundary, the ICV room is zero, the sequence
// number is S+i, and the chunks rejoin to the payload (R-TX-6, R-TX-7, R-TX-8).
func FuzzPrepare(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte, mss, padLength int, nextHeader byte, icvLen int, seqHi uint32, esn bool) {
		p := Params{MSS: mss, PadLength: padLength, NextHeader: nextHeader, ICVLen: icvLen, SeqHi: seqHi, ESN: esn}
		pl, err := Prepare(frame, p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrSeqExhausted) {
				t.Fatalf("Prepare: error outside the sentinels: %v", err)
			}
			return
		}
		checkPlan(t, &pl, frame, p)
	})
}

// checkPlan verifies an accepted send segment by segment, as FuzzPrepare's doc says. Sends of
// many tiny segments are sampled (first, last and a stride) to keep the fuzzer fast.
func checkPlan(t *testing.T, pl *Plan, frame []byte, p Params) {
	if pl.Count() != (pl.PayloadLen()+p.MSS-1)/p.MSS || pl.PayloadOffset()+pl.PayloadLen()+p.PadLength != len(frame) {
		t.Fatalf("plan: count %d for %d bytes at MSS %d; payload at %d", pl.Count(), pl.PayloadLen(), p.MSS, pl.PayloadOffset())
	}
	step := max(1, pl.Count()/64)
	dst := make([]byte, pl.MaxSegmentLen())
	var joined []byte
	for i := 0; i < pl.Count(); i += step {
		if i+step >= pl.Count() {
			i = pl.Count() - 1
		}
		n, seq := pl.Segment(frame, i, dst)
		seg := dst[:n]
		if seq != pl.Seq()+uint64(i) || n > pl.MaxSegmentLen() {
			t.Fatalf("segment %d: seq %d n %d", i, seq, n)
		}
		chunk := checkFuzzSegment(t, pl, p, seg, i)
		if want := frame[pl.PayloadOffset()+i*p.MSS:][:len(chunk)]; !bytes.Equal(chunk, want) {
			t.Fatalf("segment %d: chunk differs from the frame's payload", i)
		}
		if step == 1 {
			joined = append(joined, chunk...)
		}
	}
	if step == 1 && !bytes.Equal(joined, frame[pl.PayloadOffset():pl.PayloadOffset()+pl.PayloadLen()]) {
		t.Fatal("chunks do not rejoin to the payload")
	}
}

// checkFuzzSegment checks one segment's invariants and returns its TCP payload.
func checkFuzzSegment(t *testing.T, pl *Plan, p Params, seg []byte, i int) []byte {
	n := len(seg)
	if pl.IPv6() {
		if inet.IPv6(seg).PayloadLen() != n-40 {
			t.Fatalf("segment %d: IPv6 payload length %d, n %d", i, inet.IPv6(seg).PayloadLen(), n)
		}
	} else if h := inet.IPv4(seg); h.TotalLen() != n || !h.ChecksumValid() {
		t.Fatalf("segment %d: IPv4 total length %d (n %d), checksum valid %v", i, h.TotalLen(), n, h.ChecksumValid())
	}
	if off := pl.UDPOffset(); off >= 0 {
		if u := inet.UDP(seg[off:]); u.Length() != n-off || u.Checksum() != 0 {
			t.Fatalf("segment %d: UDP length %d checksum %#x", i, u.Length(), u.Checksum())
		}
	}
	if esp.Seq(seg[pl.ESPOffset():]) != uint32(pl.Seq()+uint64(i)) {
		t.Fatalf("segment %d: ESP seq %#x", i, esp.Seq(seg[pl.ESPOffset():]))
	}
	end := n - p.ICVLen
	if !bytes.Equal(seg[end:], make([]byte, p.ICVLen)) {
		t.Fatalf("segment %d: ICV room not zero", i)
	}
	espPayload := seg[pl.ESPOffset()+esp.PayloadOffset : end]
	plain, _, nh, err := esp.ParseTrailer(espPayload)
	if err != nil || nh != p.NextHeader || len(espPayload)%4 != 0 {
		t.Fatalf("segment %d: trailer %v next header %d, ESP payload %d bytes", i, err, nh, len(espPayload))
	}
	innerEnd := pl.ESPOffset() + esp.PayloadOffset + len(plain)
	ip := 0
	ip6 := pl.IPv6()
	if off := pl.InnerIPOffset(); off >= 0 {
		ip, ip6 = off, pl.InnerIPv6()
		if ip6 && inet.IPv6(seg[off:]).PayloadLen() != innerEnd-off-40 {
			t.Fatalf("segment %d: inner IPv6 payload length", i)
		}
		if h := inet.IPv4(seg[off:]); !ip6 && (h.TotalLen() != innerEnd-off || !h.ChecksumValid()) {
			t.Fatalf("segment %d: inner IPv4 total length %d, checksum valid %v", i, h.TotalLen(), h.ChecksumValid())
		}
	}
	tcp := seg[pl.TCPOffset():innerEnd]
	var pseudo uint32
	if ip6 {
		h := inet.IPv6(seg[ip:])
		pseudo = inet.PseudoHeaderIPv6(h.Src(), h.Dst(), inet.ProtoTCP, len(tcp))
	} else {
		h := inet.IPv4(seg[ip:])
		pseudo = inet.PseudoHeaderIPv4(h.Src(), h.Dst(), inet.ProtoTCP, len(tcp))
	}
	if inet.Checksum(tcp, pseudo) != 0xffff {
		t.Fatalf("segment %d: TCP checksum does not verify", i)
	}
	chunk := seg[pl.PayloadOffset():innerEnd]
	if len(chunk) == 0 || len(chunk) > p.MSS {
		t.Fatalf("segment %d: %d payload bytes at MSS %d", i, len(chunk), p.MSS)
	}
	return chunk
}

// updateCorpus rewrites testdata/fuzz/FuzzPrepare from the builders below:
// go test -run TestFuzzPrepareCorpus -update-corpus ./lso/
var updateCorpus = flag.Bool("update-corpus", false, "rewrite the FuzzPrepare seed corpus")

// corpusSeeds are the real large sends the fuzzer starts from: each layout with a few
// thousand bytes of payload, one ESN send across 2^32, and a tiny send with 1-byte segments.
func corpusSeeds(t testing.TB) map[string]fuzzArgs {
	seeds := map[string]fuzzArgs{}
	for i, c := range layoutCases {
		name := fmt.Sprintf("layout%d", i)
		padLength := i % 4
		frame := largeSend(t, c.l, testPayload(3000+i), padLength, uint32(100+i))
		seeds[name] = fuzzArgs{frame, 1000 + 100*i, padLength, c.l.nextHeader(), c.l.icvLen, 0, i%2 == 1}
	}
	frame := largeSend(t, v4Tunnel6, testPayload(4000), 3, 0xfffffffe)
	seeds["esn-crossing"] = fuzzArgs{frame, 536, 3, 41, 12, 0, true}
	frame = largeSend(t, v6Transport, testPayload(9), 1, 7)
	seeds["mss1"] = fuzzArgs{frame, 1, 1, 6, 8, 0, false}
	return seeds
}

// fuzzArgs are FuzzPrepare's arguments in order.
type fuzzArgs struct {
	frame      []byte
	mss, pad   int
	nextHeader byte
	icvLen     int
	seqHi      uint32
	esn        bool
}

// encode writes the arguments in the "go test fuzz v1" corpus format.
func (a fuzzArgs) encode() []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nint(%d)\nint(%d)\nbyte(%q)\nint(%d)\nuint32(%d)\nbool(%v)\n",
		a.frame, a.mss, a.pad, rune(a.nextHeader), a.icvLen, a.seqHi, a.esn)
}

// TestFuzzPrepareCorpus keeps the seed corpus honest: every file is one of the builders'
// sends, byte for byte, and Prepare accepts it (so the fuzzer starts from sends that reach
// Segment). With -update-corpus it writes the files instead.
func TestFuzzPrepareCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzPrepare")
	for name, a := range corpusSeeds(t) {
		path := filepath.Join(dir, name)
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, a.encode(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, a.encode()) {
			t.Errorf("%s is not the send corpusSeeds builds; rerun with -update-corpus", path)
		}
		p := Params{MSS: a.mss, PadLength: a.pad, NextHeader: a.nextHeader, ICVLen: a.icvLen, SeqHi: a.seqHi, ESN: a.esn}
		pl, err := Prepare(a.frame, p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPlan(t, &pl, a.frame, p)
	}
}
