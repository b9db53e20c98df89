package lso

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// suiteLayout is a large send of the issue 11 shapes: any ESP suite (the IV room and the
// padding boundary follow the algorithm), AH alone, or AH over ESP; transport or tunnel.
type suiteLayout struct {
	name   string
	v6     bool
	alg    esp.Algorithm // 0: no ESP (AH alone)
	icv    int           // ESP ICV
	ahLen  int           // 0: no AH
	inner  byte          // 0: transport; 4 or 41: tunnel
	esn    bool
	seqHi  uint32
	ahHi   uint32
	seq    uint32
	ahSeq  uint32
	pad    int
	mss    int
	nBytes int
}

var suiteLayouts = []suiteLayout{
	{name: "cbc-v4", alg: esp.AESCBC, icv: 12, seq: 10, pad: 3, mss: 1000, nBytes: 3001},
	{name: "cbc-v6-tunnel4", v6: true, alg: esp.AESCBC, icv: 16, inner: 4, seq: 20, mss: 777, nBytes: 4000},
	{name: "null-v4-tunnel6", alg: esp.NULL, icv: 16, inner: 41, seq: 30, pad: 1, mss: 1200, nBytes: 2500},
	{name: "ah-v4", ahLen: 28, ahSeq: 40, mss: 1000, nBytes: 3500},
	{name: "ah-gmac-v6", v6: true, ahLen: 40, ahSeq: 50, mss: 1400, nBytes: 6000},
	{name: "ah-v4-tunnel4", ahLen: 24, inner: 4, ahSeq: 55, mss: 900, nBytes: 2000},
	{name: "gcm-ah-v4", alg: esp.AESGCM, icv: 16, ahLen: 24, seq: 60, ahSeq: 70, pad: 2, mss: 1000, nBytes: 3333},
	{name: "cbc-ah-v6-esn", v6: true, alg: esp.AESCBC, icv: 16, ahLen: 32, esn: true, seqHi: 1, ahHi: 2,
		seq: 0xfffffffe, ahSeq: 0xfffffffd, mss: 500, nBytes: 2600},
}

// params are the Params of the layout's SA.
func (l suiteLayout) params() Params {
	p := Params{MSS: l.mss, PadLength: l.pad, NextHeader: 6, ICVLen: l.icv, SeqHi: l.seqHi, ESN: l.esn, Alg: l.alg}
	if l.inner != 0 {
		p.NextHeader = l.inner
	}
	if l.ahLen != 0 {
		p.AH = AHParams{HeaderLen: l.ahLen, SeqHi: l.ahHi, ESN: l.esn}
	}
	return p
}

// build frames the large send by hand: outer IP, [AH], [ESP header, IV room], [inner IP],
// TCP (with a timestamp option), payload, PadLength bytes of host padding.
func (l suiteLayout) build() []byte {
	var b []byte
	hdr := 20
	if l.v6 {
		hdr = 40
	}
	b = make([]byte, hdr)
	if l.ahLen != 0 {
		ahh := make([]byte, l.ahLen)
		ahh[0], ahh[1] = inet.ProtoESP, byte(l.ahLen/4-2)
		if l.alg == 0 {
			ahh[0] = 6
			if l.inner != 0 {
				ahh[0] = l.inner
			}
		}
		binary.BigEndian.PutUint32(ahh[4:], 0x3001)
		binary.BigEndian.PutUint32(ahh[8:], l.ahSeq)
		b = append(b, ahh...)
	}
	if l.alg != 0 {
		e := make([]byte, esp.HeaderLen+l.alg.IVLen())
		esp.PutHeader(e, 0x1001, l.seq)
		for i := esp.HeaderLen; i < len(e); i++ {
			e[i] = 0xa0 + byte(i)
		}
		b = append(b, e...)
	}
	innerOff := len(b)
	if l.inner == 4 {
		b = append(b, 0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	} else if l.inner == 41 {
		ih := make([]byte, 40)
		ih[0], ih[6], ih[7] = 0x60, 6, 64
		ih[23], ih[39] = 1, 2
		b = append(b, ih...)
	}
	tcp := make([]byte, 32)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 443)
	binary.BigEndian.PutUint32(tcp[4:], 0xfffff000)
	tcp[12], tcp[13] = 8<<4, 0x19 // FIN|PSH|ACK
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	b = append(b, tcp...)
	for i := 0; i < l.nBytes; i++ {
		b = append(b, byte(i*13+i>>7))
	}
	if l.inner == 4 {
		binary.BigEndian.PutUint16(b[innerOff+2:], uint16(len(b)-innerOff))
	} else if l.inner == 41 {
		binary.BigEndian.PutUint16(b[innerOff+4:], uint16(len(b)-innerOff-40))
	}
	b = append(b, make([]byte, l.pad)...)
	first := byte(inet.ProtoESP)
	if l.ahLen != 0 {
		first = inet.ProtoAH
	}
	if l.v6 {
		b[0], b[6], b[7] = 0x60, first, 64
		binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40))
		b[23], b[39] = 1, 2
	} else {
		b[0], b[8], b[9] = 0x45, 64, first
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		copy(b[12:], []byte{192, 0, 2, 1, 198, 51, 100, 2})
		inet.IPv4(b[:20]).SetChecksum()
	}
	return b
}

// R-TX-6, R-TX-7 for the issue 11 suites: the plan finds AH and ESP where they are, and every
// segment is complete: lengths and checksums right, the AH header copied with the AH
// part's sequence number S'+i, the ESP header with S+i, the IV room as the host left it,
// the trailer padded to the algorithm's boundary (16 for AES-CBC), no trailer for AH alone.
func TestPrepareSuites(t *testing.T) {
	for _, l := range suiteLayouts {
		t.Run(l.name, func(t *testing.T) {
			frame, p := l.build(), l.params()
			pl, err := Prepare(frame, p)
			if err != nil {
				t.Fatal(err)
			}
			hdr := 20
			if l.v6 {
				hdr = 40
			}
			wantAH, wantESP := -1, -1
			if l.ahLen != 0 {
				wantAH = hdr
			}
			if l.alg != 0 {
				wantESP = hdr + l.ahLen
			}
			if pl.AHOffset() != wantAH || pl.ESPOffset() != wantESP || pl.Count() != (l.nBytes+l.mss-1)/l.mss {
				t.Fatalf("AH at %d ESP at %d count %d", pl.AHOffset(), pl.ESPOffset(), pl.Count())
			}
			if l.alg == 0 && pl.SealBufferLen() != pl.MaxSegmentLen() {
				t.Errorf("AH alone: SealBufferLen %d, MaxSegmentLen %d", pl.SealBufferLen(), pl.MaxSegmentLen())
			}
			checkSuitePlan(t, &pl, frame, p)
		})
	}
}

// checkSuitePlan checks every segment of an accepted send (sampled for many tiny segments)
// and that the chunks rejoin to the payload.
func checkSuitePlan(t *testing.T, pl *Plan, frame []byte, p Params) {
	if pl.Count() != (pl.PayloadLen()+p.MSS-1)/p.MSS || pl.PayloadOffset()+pl.PayloadLen()+p.PadLength != len(frame) {
		t.Fatalf("plan: count %d for %d bytes at MSS %d", pl.Count(), pl.PayloadLen(), p.MSS)
	}
	step := max(1, pl.Count()/32)
	dst := make([]byte, pl.SealBufferLen())
	var joined []byte
	for i := 0; i < pl.Count(); i += step {
		if i+step >= pl.Count() {
			i = pl.Count() - 1
		}
		n, seq := pl.Segment(frame, i, dst)
		if seq != pl.Seq()+uint64(i) || n > pl.MaxSegmentLen() {
			t.Fatalf("segment %d: seq %d n %d", i, seq, n)
		}
		chunk := checkSuiteSegment(t, pl, p, frame, dst[:n], i)
		if step == 1 {
			joined = append(joined, chunk...)
		}
	}
	if step == 1 && !bytes.Equal(joined, frame[pl.PayloadOffset():pl.PayloadOffset()+pl.PayloadLen()]) {
		t.Fatal("chunks do not rejoin to the payload")
	}
}

// checkSuiteSegment checks one segment and returns its TCP payload.
func checkSuiteSegment(t *testing.T, pl *Plan, p Params, frame, seg []byte, i int) []byte {
	n := len(seg)
	if pl.IPv6() {
		if inet.IPv6(seg).PayloadLen() != n-40 {
			t.Fatalf("segment %d: IPv6 payload length %d, n %d", i, inet.IPv6(seg).PayloadLen(), n)
		}
	} else if h := inet.IPv4(seg); h.TotalLen() != n || !h.ChecksumValid() {
		t.Fatalf("segment %d: IPv4 total length %d (n %d), checksum valid %v", i, h.TotalLen(), n, h.ChecksumValid())
	}
	innerEnd := n
	if off := pl.AHOffset(); off >= 0 {
		if !bytes.Equal(seg[off:off+8], frame[off:off+8]) || !bytes.Equal(seg[off+12:off+p.AH.HeaderLen], frame[off+12:off+p.AH.HeaderLen]) {
			t.Fatalf("segment %d: AH header not copied", i)
		}
		if got := binary.BigEndian.Uint32(seg[off+8:]); got != uint32(pl.AHSeq(i)) {
			t.Fatalf("segment %d: AH seq %#x, want %#x", i, got, uint32(pl.AHSeq(i)))
		}
	}
	if off := pl.ESPOffset(); off >= 0 {
		alg := p.Alg
		if alg == 0 {
			alg = esp.AESGCM
		}
		if esp.Seq(seg[off:]) != uint32(pl.Seq()+uint64(i)) {
			t.Fatalf("segment %d: ESP seq %#x", i, esp.Seq(seg[off:]))
		}
		iv := off + esp.HeaderLen
		if !bytes.Equal(seg[iv:iv+alg.IVLen()], frame[iv:iv+alg.IVLen()]) {
			t.Fatalf("segment %d: IV room not as the host left it", i)
		}
		end := n - p.ICVLen
		if !bytes.Equal(seg[end:], make([]byte, p.ICVLen)) {
			t.Fatalf("segment %d: ICV room not zero", i)
		}
		body := seg[iv+alg.IVLen() : end]
		plain, _, nh, err := esp.ParseTrailer(body)
		if err != nil || nh != pl.NextHeader() || len(body)%alg.PadAlign() != 0 {
			t.Fatalf("segment %d: trailer %v next header %d, ESP payload %d bytes (boundary %d)", i, err, nh, len(body), alg.PadAlign())
		}
		innerEnd = iv + alg.IVLen() + len(plain)
	}
	ip, ip6 := 0, pl.IPv6()
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

// R-TX-6, R-TX-8: large sends with AH that the SA's parts do not fit are refused whole,
// each with its sentinel and a message naming the field.
func TestPrepareSuiteErrors(t *testing.T) {
	ahv4, gcmAH, cbc := suiteLayouts[3], suiteLayouts[6], suiteLayouts[0]
	cases := []struct {
		name  string
		l     suiteLayout
		frame func([]byte) []byte
		p     func(*Params)
		is    error
		msg   string
	}{
		{"AH length not the SA's", ahv4, nil, func(p *Params) { p.AH.HeaderLen = 24 }, ErrMalformed,
			"lso: malformed large send: AH header at offset 20 is 28 bytes (payload length 5), the SA's is 24"},
		{"AH length odd", ahv4, nil, func(p *Params) { p.AH.HeaderLen = 13 }, ErrMalformed,
			"lso: malformed large send: AH header length 13: want 0 (no AH) or a multiple of 4 from 12"},
		{"AH SPI 0", ahv4, func(b []byte) []byte { binary.BigEndian.PutUint32(b[24:], 0); return b }, nil, ErrMalformed,
			"lso: malformed large send: AH SPI 0 at offset 20: reserved, never sent (RFC 4302 §2.4)"},
		{"AH over UDP", ahv4, func(b []byte) []byte { b[20] = 17; return b }, nil, ErrUnsupported,
			"lso: unsupported large send: AH next header 17: want 6 (TCP, transport mode), 4 or 41 (IPv4 or IPv6, tunnel mode)"},
		{"OOB next header disagrees with AH", ahv4, nil, func(p *Params) { p.NextHeader = 4 }, ErrMalformed,
			"lso: malformed large send: OOB next header 4, the AH header's is 6 (AH alone has no ESP trailer)"},
		{"SA has AH, frame has none", cbc, nil, func(p *Params) { p.AH.HeaderLen = 24 }, ErrMalformed,
			"lso: malformed large send: outer protocol 50: the SA has AH, want 51 (AH) right after the IP header"},
		{"bundle ICV length", gcmAH, nil, func(p *Params) { p.ICVLen = 10 }, ErrUnsupported,
			"lso: unsupported large send: ICV length 10: want 8, 12 or 16"},
		{"AH sequence 0", ahv4, func(b []byte) []byte { binary.BigEndian.PutUint32(b[28:], 0); return b }, nil, ErrSeqExhausted,
			"lso: sequence numbers exhausted: first AH sequence number 0: the counter starts sending at 1 and 0 is never used"},
		{"AH sequence past 2^32-1", ahv4, func(b []byte) []byte { binary.BigEndian.PutUint32(b[28:], 0xfffffffe); return b }, nil, ErrSeqExhausted,
			"lso: sequence numbers exhausted: 4 segments from AH sequence number 4294967294 would end at 4294967297, past 2^32-1 (SA without ESN)"},
		{"unknown algorithm", cbc, nil, func(p *Params) { p.Alg = 3 }, ErrUnsupported,
			"lso: unsupported large send: ESP algorithm Algorithm(3)"},
	}
	for _, c := range cases {
		frame, p := c.l.build(), c.l.params()
		if c.frame != nil {
			frame = c.frame(frame)
		}
		if c.p != nil {
			c.p(&p)
		}
		_, err := Prepare(frame, p)
		if !errors.Is(err, c.is) || err.Error() != c.msg {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.msg)
		}
	}
}

// suiteFuzzArgs are FuzzPrepareSuites' arguments in order.
type suiteFuzzArgs struct {
	frame      []byte
	mss, pad   int
	nextHeader byte
	icvLen     int
	seqHi      uint32
	esn        bool
	alg        byte
	ahLen      int
	ahSeqHi    uint32
	ahESN      bool
}

func (a suiteFuzzArgs) encode() []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nint(%d)\nint(%d)\nbyte(%q)\nint(%d)\nuint32(%d)\nbool(%v)\nbyte(%q)\nint(%d)\nuint32(%d)\nbool(%v)\n",
		a.frame, a.mss, a.pad, rune(a.nextHeader), a.icvLen, a.seqHi, a.esn, rune(a.alg), a.ahLen, a.ahSeqHi, a.ahESN)
}

func (a suiteFuzzArgs) params() Params {
	return Params{MSS: a.mss, PadLength: a.pad, NextHeader: a.nextHeader, ICVLen: a.icvLen, SeqHi: a.seqHi, ESN: a.esn,
		Alg: esp.Algorithm(a.alg), AH: AHParams{HeaderLen: a.ahLen, SeqHi: a.ahSeqHi, ESN: a.ahESN}}
}

// suiteCorpusSeeds are suiteLayouts as fuzz arguments.
func suiteCorpusSeeds() map[string]suiteFuzzArgs {
	seeds := map[string]suiteFuzzArgs{}
	for _, l := range suiteLayouts {
		p := l.params()
		seeds[l.name] = suiteFuzzArgs{l.build(), p.MSS, p.PadLength, p.NextHeader, p.ICVLen, p.SeqHi, p.ESN,
			byte(p.Alg), p.AH.HeaderLen, p.AH.SeqHi, p.AH.ESN}
	}
	return seeds
}

// TestFuzzPrepareSuitesCorpus keeps testdata/fuzz/FuzzPrepareSuites equal to suiteLayouts
// (rewrite with -update-corpus), and every seed accepted.
func TestFuzzPrepareSuitesCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzPrepareSuites")
	for name, a := range suiteCorpusSeeds() {
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
			t.Errorf("%s is not the send suiteCorpusSeeds builds; rerun with -update-corpus", path)
		}
		pl, err := Prepare(a.frame, a.params())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkSuitePlan(t, &pl, a.frame, a.params())
	}
}

// FuzzPrepareSuites is FuzzPrepare with the issue 11 parameters: any ESP algorithm, any AH
// header length and AH sequence state. Prepare must not panic and may only fail with its
// sentinels; an accepted send must segment into complete packets (checkSuiteSegment).
func FuzzPrepareSuites(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte, mss, padLength int, nextHeader byte, icvLen int, seqHi uint32, esn bool,
		alg byte, ahLen int, ahSeqHi uint32, ahESN bool) {
		a := suiteFuzzArgs{frame, mss, padLength, nextHeader, icvLen, seqHi, esn, alg, ahLen, ahSeqHi, ahESN}
		p := a.params()
		pl, err := Prepare(frame, p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrSeqExhausted) {
				t.Fatalf("Prepare: error outside the sentinels: %v", err)
			}
			return
		}
		checkSuitePlan(t, &pl, frame, p)
	})
}

// TestSuitesZeroAllocs: Prepare and Segment allocate nothing on success with AES-CBC, NULL,
// AH alone and ESP+AH either (issue 11: zero allocations per packet on every path).
func TestSuitesZeroAllocs(t *testing.T) {
	for _, l := range suiteLayouts {
		frame, p := l.build(), l.params()
		dst := make([]byte, 2048)
		var sink uint64
		allocs := testing.AllocsPerRun(20, func() {
			pl, err := Prepare(frame, p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range pl.Count() {
				n, seq := pl.Segment(frame, i, dst)
				sink += uint64(n) + seq + pl.AHSeq(i)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Prepare and its Segments, want 0", l.name, allocs)
		}
		_ = sink
	}
}
