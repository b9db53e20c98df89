package esp

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzTransforms are the fixed keys FuzzOpen opens with, taken from the draft vectors so that
// the seed corpus (testdata/fuzz/FuzzOpen) can hold real packets that verify. The first
// argument of the fuzz function picks one, modulo the count; the comments give the index the
// corpus files use.
func fuzzTransforms(f *testing.F) []*Transform {
	v := loadDraft(f)
	km := func(i int) []byte { return unhex(f, v[i].KeyMat) }
	return []*Transform{
		mustTransform(f, Params{Alg: AESGCM, KeyMat: km(1)}),                        // 0: case 2, GCM-128
		mustTransform(f, Params{Alg: AESGCM, KeyMat: km(0), ESN: true}),             // 1: case 1, GCM-128, ESN
		mustTransform(f, Params{Alg: AESGMAC, KeyMat: km(14)}),                      // 2: case 15, GMAC
		mustTransform(f, Params{Alg: AESGCM, KeyMat: km(1), ICVLen: 8}),             // 3: case 2 key, ICV 8
		mustTransform(f, Params{Alg: AESGCM, KeyMat: km(2), ICVLen: 12, ESN: true}), // 4: case 3 key, GCM-256, ICV 12, ESN
		mustTransform(f, Params{Alg: AESGMAC, KeyMat: km(14), ESN: true}),           // 5: case 15 key, GMAC, ESN
	}
}

// FuzzOpen feeds arbitrary bytes to Open. It must not panic; a failure must be ErrShort or
// ErrAuth and leave the bytes as they were (R-RX-5); a success must be a packet Seal made:
// re-sealing the opened packet with the same sequence number gives back the input exactly.
func FuzzOpen(f *testing.F) {
	trs := fuzzTransforms(f)
	for i, tr := range trs {
		sealed, err := tr.Seal(new(Scratch), testPacket(40+i, 0x5_00000009), 5)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), uint32(5), sealed)
	}
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, pkt []byte) {
		tr := trs[int(which)%len(trs)]
		s := new(Scratch)
		in := bytes.Clone(pkt)
		got, err := tr.Open(s, in, seqHi)
		if err != nil {
			if got != nil || (err != ErrShort && err != ErrAuth) {
				t.Fatalf("Open = %x, %v; want nil, ErrShort or ErrAuth", got, err)
			}
			if !bytes.Equal(in, pkt) {
				t.Fatalf("Open failed with %v and changed the packet:\n got %x\nwant %x", err, in, pkt)
			}
			return
		}
		body := len(in) - tr.ICVLen()
		if len(got) != body-PayloadOffset || (len(got) > 0 && &got[0] != &in[PayloadOffset]) {
			t.Fatalf("Open returned %d bytes not at in[%d:%d]", len(got), PayloadOffset, body)
		}
		resealed, err := tr.Seal(s, withTailroom(in[:body]), seqHi)
		if err != nil || !bytes.Equal(resealed, pkt) {
			t.Fatalf("Open accepted a packet Seal would not produce:\nresealed %x (%v)\n   input %x", resealed, err, pkt)
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
