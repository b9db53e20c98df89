package esp

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzParams are the fixed SAs the fuzz targets use, keyed from the draft vectors so that
// the seed corpus (testdata/fuzz/FuzzOpen) can hold real packets that verify. The first
// argument of a fuzz function picks one, modulo the count; the comments give the index the
// corpus files use.
func fuzzParams(f *testing.F) []Params {
	v := loadDraft(f)
	km := func(i int) []byte { return unhex(f, v[i].KeyMat) }
	return []Params{
		{Alg: AESGCM, KeyMat: km(1)},                        // 0: case 2, GCM-128
		{Alg: AESGCM, KeyMat: km(0), ESN: true},             // 1: case 1, GCM-128, ESN
		{Alg: AESGMAC, KeyMat: km(14)},                      // 2: case 15, GMAC
		{Alg: AESGCM, KeyMat: km(1), ICVLen: 8},             // 3: case 2 key, ICV 8
		{Alg: AESGCM, KeyMat: km(2), ICVLen: 12, ESN: true}, // 4: case 3 key, GCM-256, ICV 12, ESN
		{Alg: AESGMAC, KeyMat: km(14), ESN: true},           // 5: case 15 key, GMAC, ESN
	}
}

// fuzzTransforms keys every fuzzParams SA once per implementation: element [i][j] is SA i
// under testImpls[j], so that each fuzz input runs through all of them and they can be
// compared.
func fuzzTransforms(f *testing.F) [][]*Transform {
	var out [][]*Transform
	for _, p := range fuzzParams(f) {
		var row []*Transform
		for _, impl := range testImpls {
			p.Impl = impl
			row = append(row, mustTransform(f, p))
		}
		out = append(out, row)
	}
	return out
}

// FuzzOpen feeds arbitrary bytes to Open, with every implementation. It must not panic; a
// failure must be ErrShort or ErrAuth and leave the bytes as they were (R-RX-5); a success
// must be a packet Seal made: re-sealing the opened packet with the same sequence number
// gives back the input exactly. All implementations must return the same verdict and the same
// bytes (SPEC §6: the portable fallback is a drop-in for the stdlib path).
func FuzzOpen(f *testing.F) {
	trs := fuzzTransforms(f)
	for i, row := range trs {
		sealed, err := row[0].Seal(new(Scratch), testPacket(40+i, 0x5_00000009), 5)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), uint32(5), sealed)
	}
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, pkt []byte) {
		row := trs[int(which)%len(trs)]
		var first []byte
		var firstErr error
		for j, tr := range row {
			in := bytes.Clone(pkt)
			err := fuzzOpenOne(t, tr, in, pkt, seqHi)
			if j == 0 {
				first, firstErr = in, err
			} else if err != firstErr || !bytes.Equal(in, first) {
				t.Fatalf("%v Open = %v leaving %x; %v Open = %v leaving %x",
					tr.ImplKind(), err, in, row[0].ImplKind(), firstErr, first)
			}
		}
	})
}

// fuzzOpenOne opens in (a copy of pkt) in place with tr and checks what FuzzOpen promises
// for one implementation, returning Open's error.
func fuzzOpenOne(t *testing.T, tr *Transform, in, pkt []byte, seqHi uint32) error {
	t.Helper()
	s := new(Scratch)
	got, err := tr.Open(s, in, seqHi)
	if err != nil {
		if got != nil || (err != ErrShort && err != ErrAuth) {
			t.Fatalf("%v: Open = %x, %v; want nil, ErrShort or ErrAuth", tr.ImplKind(), got, err)
		}
		if !bytes.Equal(in, pkt) {
			t.Fatalf("%v: Open failed with %v and changed the packet:\n got %x\nwant %x", tr.ImplKind(), err, in, pkt)
		}
		return err
	}
	body := len(in) - tr.ICVLen()
	if len(got) != body-PayloadOffset || (len(got) > 0 && &got[0] != &in[PayloadOffset]) {
		t.Fatalf("%v: Open returned %d bytes not at in[%d:%d]", tr.ImplKind(), len(got), PayloadOffset, body)
	}
	resealed, err := tr.Seal(s, withTailroom(in[:body]), seqHi)
	if err != nil || !bytes.Equal(resealed, pkt) {
		t.Fatalf("%v: Open accepted a packet Seal would not produce:\nresealed %x (%v)\n   input %x", tr.ImplKind(), resealed, err, pkt)
	}
	return nil
}

// FuzzSeal seals arbitrary payloads under arbitrary sequence numbers with every
// implementation: the packets must be byte-identical and each implementation must open every
// other's (SPEC §6: the portable fallback is a drop-in for the stdlib path).
func FuzzSeal(f *testing.F) {
	trs := fuzzTransforms(f)
	for i := range trs {
		f.Add(uint8(i), uint32(5), uint64(0x5_00000009), bytes.Repeat([]byte{byte(i)}, 17*i))
	}
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, seq uint64, payload []byte) {
		row := trs[int(which)%len(trs)]
		frame := func() []byte {
			pkt := make([]byte, PayloadOffset, PayloadOffset+len(payload)+3+TrailerLen+MaxICVLen)
			PutHeader(pkt, 0x1000, uint32(seq))
			PutIV(pkt, seq)
			pkt = append(pkt, payload...)
			return AppendTrailer(pkt, PadLen(len(payload)), 4)
		}
		var sealed [][]byte
		for _, tr := range row {
			out, err := tr.Seal(new(Scratch), frame(), seqHi)
			if err != nil {
				t.Fatalf("%v: Seal: %v", tr.ImplKind(), err)
			}
			if len(sealed) > 0 && !bytes.Equal(out, sealed[0]) {
				t.Fatalf("%v Seal = %x\n%v Seal = %x", tr.ImplKind(), out, row[0].ImplKind(), sealed[0])
			}
			sealed = append(sealed, out)
		}
		plain := frame()[PayloadOffset:]
		for _, tr := range row {
			for j, pkt := range sealed {
				got, err := tr.Open(new(Scratch), bytes.Clone(pkt), seqHi)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("%v Open of %v's packet = %x, %v; want %x", tr.ImplKind(), row[j].ImplKind(), got, err, plain)
				}
			}
		}
	})
}

// FuzzParseTrailer checks ParseTrailer on arbitrary bytes: no panic, only its two errors, and
// on success the parts add up and AppendTrailer rebuilds the input exactly (RFC 4303 §2.4).
func FuzzParseTrailer(f *testing.F) {
	for _, v := range loadDraft(f) {
		f.Add(unhex(f, v.Plaintext))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		payload, padLen, nh, err := ParseTrailer(plain)
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrPadding) {
				t.Fatalf("ParseTrailer: unexpected error %v", err)
			}
			if errors.Is(err, ErrShort) != (len(plain) < TrailerLen) {
				t.Fatalf("ParseTrailer(%x): %v", plain, err)
			}
			return
		}
		if len(payload)+padLen+TrailerLen != len(plain) || padLen > 255 {
			t.Fatalf("ParseTrailer(%x) = %d-byte payload, pad %d", plain, len(payload), padLen)
		}
		if rebuilt := AppendTrailer(bytes.Clone(payload), padLen, nh); !bytes.Equal(rebuilt, plain) {
			t.Fatalf("AppendTrailer(ParseTrailer(%x)) = %x", plain, rebuilt)
		}
	})
}
