package esp

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// draftPlain rebuilds payload ‖ padding ‖ pad length ‖ next header from the vector's trailer
// breakdown with PadLen and AppendTrailer, so the framing helpers are checked against the
// draft too.
func draftPlain(t *testing.T, v draftVector) []byte {
	t.Helper()
	inner := unhex(t, v.Trailer.Inner)
	if got := PadLen(len(inner)); got != v.Trailer.PadLength {
		t.Fatalf("PadLen(%d) = %d, vector pads %d", len(inner), got, v.Trailer.PadLength)
	}
	return AppendTrailer(inner, PadLen(len(inner)), v.Trailer.NextHeader)
}

// draftFrame builds SPI ‖ seq_lo32 ‖ IV ‖ plain with tailroom, the packet a host hands over.
func draftFrame(t *testing.T, v draftVector, plain []byte) []byte {
	t.Helper()
	pkt := make([]byte, PayloadOffset+len(plain), PayloadOffset+len(plain)+MaxICVLen)
	PutHeader(pkt, v.SPI, v.SeqLo)
	copy(pkt[HeaderLen:], unhex(t, v.IV))
	copy(pkt[PayloadOffset:], plain)
	return pkt
}

// expectAuthFail opens a tampered copy of pkt and checks both the error and that not a byte
// moved (R-RX-5: a failed packet is indicated to the host as it arrived).
func expectAuthFail(t *testing.T, tr *Transform, s *Scratch, pkt []byte, seqHi uint32, what string) {
	t.Helper()
	before := bytes.Clone(pkt)
	got, err := tr.Open(s, pkt, seqHi)
	if !errors.Is(err, ErrAuth) || got != nil {
		t.Errorf("%s: Open = %x, %v; want nil, ErrAuth", what, got, err)
	}
	if !bytes.Equal(pkt, before) {
		t.Errorf("%s: Open changed the packet on ErrAuth:\n got %x\nwant %x", what, pkt, before)
	}
}

// TestDraftVectors reproduces the 17 ESP packets of draft-mcgrew-gcm-test-01 byte for byte
// from their fields, opens them, and rejects tampered copies, with every implementation.
// Covers SPEC §7 (RFC 4106 / RFC 4543 framing, ESN AAD), R-TX-4 (the host framing Seal takes),
// R-RX-6 (decrypt in place), R-RX-5 (packet unchanged on failure), R-RX-8 (seq-high from the
// SA), SPEC §6 (the portable fallback is byte-identical to the stdlib path).
func TestDraftVectors(t *testing.T) {
	forEachImpl(t, testDraftVectors)
}

func testDraftVectors(t *testing.T, impl Impl) {
	for _, v := range loadDraft(t) {
		t.Run(v.Name, func(t *testing.T) {
			alg := draftAlg(t, v)
			keyMat := append(unhex(t, v.Key), unhex(t, v.Salt)...)
			if !bytes.Equal(keyMat, unhex(t, v.KeyMat)) {
				t.Fatalf("key ‖ salt = %x, vector says %x", keyMat, v.KeyMat)
			}
			tr := mustTransform(t, Params{Alg: alg, KeyMat: keyMat, ESN: v.ESN, Impl: impl})
			s := new(Scratch)
			want := unhex(t, v.Packet)
			plain := draftPlain(t, v)
			if alg == AESGCM && !bytes.Equal(plain, unhex(t, v.Plaintext)) {
				t.Fatalf("rebuilt plaintext %x, vector %x", plain, v.Plaintext)
			}

			sealed, err := tr.Seal(s, draftFrame(t, v, plain), v.SeqHi)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if !bytes.Equal(sealed, want) {
				t.Fatalf("Seal:\n got %x\nwant %x", sealed, want)
			}
			if alg == AESGCM && !bytes.Equal(sealed[PayloadOffset:], unhex(t, v.Ciphertext)) {
				t.Errorf("ciphertext ‖ tag %x, vector %x", sealed[PayloadOffset:], v.Ciphertext)
			}
			if SPI(want) != v.SPI || Seq(want) != v.SeqLo {
				t.Errorf("SPI, Seq = %#x, %d; want %#x, %d", SPI(want), Seq(want), v.SPI, v.SeqLo)
			}

			pkt := withTailroom(want)
			got, err := tr.Open(s, pkt, v.SeqHi)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Open:\n got %x\nwant %x", got, plain)
			}
			if &got[0] != &pkt[PayloadOffset] {
				t.Errorf("Open did not return the payload in place")
			}
			payload, padLen, nh, err := ParseTrailer(got)
			if err != nil || !bytes.Equal(payload, unhex(t, v.Trailer.Inner)) ||
				padLen != v.Trailer.PadLength || nh != v.Trailer.NextHeader {
				t.Errorf("ParseTrailer = %x, %d, %d, %v; want %s, %d, %d, nil",
					payload, padLen, nh, err, v.Trailer.Inner, v.Trailer.PadLength, v.Trailer.NextHeader)
			}

			tamper := map[string]int{
				"ICV last byte":   len(want) - 1,
				"ICV first byte":  len(want) - MaxICVLen,
				"first data byte": PayloadOffset,
				"next header":     len(want) - MaxICVLen - 1,
				"SPI":             0,
				"sequence number": 7,
				"IV":              HeaderLen,
			}
			for what, i := range tamper {
				bad := withTailroom(want)
				bad[i] ^= 0x01
				expectAuthFail(t, tr, s, bad, v.SeqHi, what)
			}
			if v.ESN {
				expectAuthFail(t, tr, s, withTailroom(want), v.SeqHi^1, "wrong seq-high")
			} else if _, err := tr.Open(s, withTailroom(want), 0xdeadbeef); err != nil {
				t.Errorf("without ESN seq-high must be ignored, Open: %v", err)
			}
		})
	}
}

// TestDraftTruncatedICV runs every AES-GCM draft case with 12- and 8-byte ICVs: the
// ciphertext must not change and the ICV must be the leading bytes of the vector's 16-byte
// tag (RFC 4106 §6 truncation), with every implementation. Covers SPEC §7 (ICV 16, or 8/12
// where the SA says), R-RX-5 for the stdlib ICV-8 path, which decrypts before it knows the
// verdict, and SPEC §6 for the portable core, which truncates natively.
func TestDraftTruncatedICV(t *testing.T) {
	forEachImpl(t, testDraftTruncatedICV)
}

func testDraftTruncatedICV(t *testing.T, impl Impl) {
	for _, v := range loadDraft(t) {
		if draftAlg(t, v) != AESGCM {
			continue
		}
		for _, icv := range []int{12, 8} {
			t.Run(fmt.Sprintf("%s/ICV%d", v.Name, icv), func(t *testing.T) {
				keyMat := unhex(t, v.KeyMat)
				tr := mustTransform(t, Params{Alg: AESGCM, KeyMat: keyMat, ICVLen: icv, ESN: v.ESN, Impl: impl})
				s := new(Scratch)
				full := unhex(t, v.Packet)
				ct := full[:len(full)-MaxICVLen]
				want := append(bytes.Clone(ct), unhex(t, v.ICV)[:icv]...)

				plain := unhex(t, v.Plaintext)
				pkt := draftFrame(t, v, plain)
				room := pkt[len(pkt):cap(pkt)]
				for i := range room {
					room[i] = 0xaa
				}
				sealed, err := tr.Seal(s, pkt, v.SeqHi)
				if err != nil {
					t.Fatalf("Seal: %v", err)
				}
				if !bytes.Equal(sealed, want) {
					t.Fatalf("Seal:\n got %x\nwant %x", sealed, want)
				}
				// No byte of the untruncated tag may be left past the ICV. The stdlib core
				// writes the full tag for ICV 8 and clears its tail; the portable core never
				// writes past the ICV at all.
				past := sealed[len(sealed):cap(sealed)]
				wantPast := bytes.Repeat([]byte{0xaa}, len(past))
				if impl == ImplStdlib && icv == 8 {
					clear(wantPast[:8])
				}
				if !bytes.Equal(past, wantPast) {
					t.Errorf("tailroom after the ICV = %x, want %x", past, wantPast)
				}

				got, err := tr.Open(s, withTailroom(want), v.SeqHi)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Open = %x, %v; want %x, nil", got, err, plain)
				}
				for what, i := range map[string]int{
					"ICV first byte":  len(want) - icv,
					"ICV last byte":   len(want) - 1,
					"first data byte": PayloadOffset,
					"last data byte":  len(want) - icv - 1,
					"SPI":             1,
				} {
					bad := withTailroom(want)
					bad[i] ^= 0x80
					expectAuthFail(t, tr, s, bad, v.SeqHi, what)
				}
			})
		}
	}
}
