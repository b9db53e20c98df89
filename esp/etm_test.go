package esp

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// TestETMDifferential compares Seal and Open with the independent construction of
// etm_ref_test.go for every AES-CBC / NULL suite, random payloads of 0..2000 bytes, random
// SPI, sequence numbers and seq-high, with and without ESN, in place: what Seal makes the
// reference must verify and decrypt to the payload and default trailer, with Seal's own IV;
// what the reference makes (random IV) Open must accept and return the same payload and
// trailer, decrypted in the packet's own buffer. The seed is fixed so a failure reproduces.
// SPEC §2 (AES-CBC with HMAC-SHA1-96 / HMAC-SHA-256-128, NULL), RFC 4303 §3.3.2 (encrypt
// then MAC, ESN appended for the ICV only), R-TX-4, R-RX-6.
func TestETMDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3602, 4868))
	s := new(Scratch)
	for i := range 600 {
		su := etmSuites[i%len(etmSuites)]
		esn := rng.IntN(2) == 0
		tr, r := mustETM(t, su, esn, byte(i))
		if i%2 == 1 { // every other packet through crypto/aes's CBC decryption, not ImplAuto's
			p := r.params()
			p.Impl = ImplStdlib
			tr = mustTransform(t, p)
		}
		n := rng.IntN(2001)
		if i < len(etmSuites)*2 {
			n = i / len(etmSuites) // 0 and 1: the smallest payloads first
		}
		payload := randBytes(rng, n)
		spi, seqLo, seqHi := rng.Uint32(), rng.Uint32(), rng.Uint32()
		nh := byte(rng.IntN(256))
		name := fmt.Sprintf("#%d %s ESN=%v %d bytes (%s)", i, su.name, esn, n, tr.Impl())

		pkt := frameETM(tr, spi, seqLo, payload, nh)
		sealed, err := tr.Seal(s, pkt, seqHi)
		if err != nil {
			t.Fatalf("%s: Seal: %v", name, err)
		}
		if &sealed[0] != &pkt[0] || len(sealed) != len(pkt)+r.icvLen() {
			t.Fatalf("%s: Seal did not work in place or has length %d", name, len(sealed))
		}
		if (len(sealed)-8-r.ivLen()-r.icvLen())%r.align() != 0 {
			t.Fatalf("%s: %d bytes after header and IV, not a multiple of %d", name, len(sealed)-8-r.ivLen()-r.icvLen(), r.align())
		}
		plain, ok := r.refOpen(sealed, seqHi)
		if !ok {
			t.Fatalf("%s: the reference rejects Seal's ICV", name)
		}
		if want := AppendTrailer(bytes.Clone(payload), tr.PadLen(n), nh); !bytes.Equal(plain, want) {
			t.Fatalf("%s: the reference decrypts Seal's packet to\n%x\nwant\n%x", name, plain, want)
		}

		iv := randBytes(rng, r.ivLen())
		ref := r.refSeal(spi, seqLo, seqHi, iv, payload, nh, nil)
		if !bytes.Equal(ref[:8], sealed[:8]) || len(ref) != len(sealed) {
			t.Fatalf("%s: reference and Seal frame differently: %d and %d bytes", name, len(ref), len(sealed))
		}
		got, err := tr.Open(s, ref, seqHi)
		if err != nil {
			t.Fatalf("%s: Open of the reference's packet: %v", name, err)
		}
		if &got[0] != &ref[tr.PayloadOffset()] || !bytes.Equal(got, plain) {
			t.Fatalf("%s: Open = %x (in place %v), want %x", name, got, &got[0] == &ref[tr.PayloadOffset()], plain)
		}
		pl, padLen, gotNH, err := ParseTrailer(got)
		if err != nil || !bytes.Equal(pl, payload) || padLen != tr.PadLen(n) || gotNH != nh {
			t.Fatalf("%s: ParseTrailer = %d bytes, pad %d, nh %d, %v", name, len(pl), padLen, gotNH, err)
		}
	}
}

// TestETMTamper changes one bit in every byte class of a sealed packet (SPI, sequence
// number, IV, ciphertext at both ends, ICV) and, under ESN, seq-high: Open must return ErrAuth
// and leave every byte as it arrived (R-RX-5). A wrong seq-high is exactly what an ESN
// receiver meets around a wrap, so it must fail like a forgery (R-RX-8).
func TestETMTamper(t *testing.T) {
	s := new(Scratch)
	for _, su := range etmSuites {
		for _, esn := range []bool{false, true} {
			tr, r := mustETM(t, su, esn, 9)
			sealed, err := tr.Seal(s, frameETM(tr, 0x1234, 77, fill(100, 3), 17), 5)
			if err != nil {
				t.Fatal(err)
			}
			classes := map[string]int{"SPI": 0, "seq": 5, "payload start": tr.PayloadOffset(),
				"trailer": len(sealed) - r.icvLen() - 1, "ICV start": len(sealed) - r.icvLen(), "ICV end": len(sealed) - 1}
			if su.alg == AESCBC {
				classes["IV"] = HeaderLen + 3
			}
			for what, at := range classes {
				for bit := range 8 {
					pkt := bytes.Clone(sealed)
					pkt[at] ^= 1 << bit
					expectAuthFail(t, tr, s, pkt, 5, fmt.Sprintf("%s ESN=%v %s bit %d", su.name, esn, what, bit))
				}
			}
			if esn {
				expectAuthFail(t, tr, s, bytes.Clone(sealed), 6, su.name+" wrong seq-high")
			} else if _, err := tr.Open(s, bytes.Clone(sealed), 6); err != nil {
				t.Errorf("%s: seq-high must not count without ESN: %v", su.name, err)
			}
			if _, err := tr.Open(s, bytes.Clone(sealed), 5); err != nil {
				t.Errorf("%s ESN=%v: untampered packet: %v", su.name, esn, err)
			}
		}
	}
}

// TestETMBadPadding builds packets whose ICV is valid but whose padding is not the default
// 1, 2, 3, ... (with the independent construction, since Seal never makes one): wrong pad
// bytes at each end of the padding, a pad length that runs past the payload, and 255. Open
// must fail with ErrAuth, the very error of a bad ICV (no padding oracle), and restore the
// packet as it arrived. A packet a sender padded more than necessary but correctly is fine.
func TestETMBadPadding(t *testing.T) {
	s := new(Scratch)
	for _, su := range etmSuites {
		tr, r := mustETM(t, su, true, 21)
		payload := fill(29, 0x50) // 29 + 2 trailer bytes: CBC pads 1, NULL pads 1
		for _, tc := range []struct {
			name    string
			trailer []byte
			ok      bool
		}{
			{"first pad byte wrong", padTrailer(r, 29, func(p []byte) { p[0] = 9 }), false},
			{"last pad byte wrong", padTrailer(r, 29, func(p []byte) { p[len(p)-1]++ }), false},
			{"pad length past the payload", append(make([]byte, r.align()-(29+2)%r.align()), 200, 6), false},
			{"pad length 255", append(make([]byte, r.align()-(29+2)%r.align()), 255, 6), false},
			{"longer padding, right bytes", longPad(r, 29), true},
		} {
			ref := r.refSeal(0x99, 3, 4, fill(r.ivLen(), 7), payload, 0, tc.trailer)
			before := bytes.Clone(ref)
			got, err := tr.Open(s, ref, 4)
			if tc.ok {
				if err != nil {
					t.Errorf("%s %s: Open: %v", su.name, tc.name, err)
				}
				continue
			}
			if err != ErrAuth || got != nil {
				t.Errorf("%s %s: Open = %x, %v; want ErrAuth, the bad-ICV error", su.name, tc.name, got, err)
			}
			if !bytes.Equal(ref, before) {
				t.Errorf("%s %s: Open left the packet changed:\n got %x\nwant %x", su.name, tc.name, ref, before)
			}
		}
	}
}

// padTrailer returns the default padding for payloadLen under r's alignment, changed by f,
// followed by pad length and next header 6.
func padTrailer(r refSA, payloadLen int, f func([]byte)) []byte {
	n := (r.align() - (payloadLen+2)%r.align()) % r.align()
	if n == 0 {
		n = r.align()
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i + 1)
	}
	f(p)
	return append(p, byte(n), 6)
}

// longPad returns correct default padding one alignment unit longer than needed (RFC 4303
// §2.4 lets a sender pad up to 255 bytes, e.g. to hide the length).
func longPad(r refSA, payloadLen int) []byte {
	n := (r.align()-(payloadLen+2)%r.align())%r.align() + r.align()
	p := make([]byte, 0, n+2)
	for i := 1; i <= n; i++ {
		p = append(p, byte(i))
	}
	return append(p, byte(n), 6)
}

// TestPadOK checks the constant-time padding check against the plain definition on every
// trailer shape up to 300 bytes: all pad lengths 0..255 with correct bytes, each with one
// byte wrong, and pad lengths longer than what precedes them.
func TestPadOK(t *testing.T) {
	ref := func(plain []byte) bool { _, _, _, err := ParseTrailer(plain); return err == nil }
	for n := 2; n <= 300; n += 7 {
		for pl := 0; pl <= 255; pl++ {
			plain := make([]byte, n)
			plain[n-2] = byte(pl)
			for i := 1; i <= pl && pl <= n-2; i++ {
				plain[n-2-pl+i-1] = byte(i)
			}
			if padOK(plain) != ref(plain) {
				t.Fatalf("n %d pad %d: padOK %v, ParseTrailer says %v", n, pl, padOK(plain), ref(plain))
			}
			if pl > 0 && pl <= n-2 {
				plain[n-2-pl+(pl/2)] ^= 0x80
				if padOK(plain) || ref(plain) {
					t.Fatalf("n %d pad %d: one wrong pad byte accepted", n, pl)
				}
			}
		}
	}
}

// TestPadOKRandom compares padOK with ParseTrailer on random trailers: random lengths,
// correct default padding of a random length, then zero to two random bytes changed among
// the last 260, so that every word and byte path of padOK meets both verdicts.
func TestPadOKRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(4303, 24))
	for range 50000 {
		n := 2 + rng.IntN(600)
		plain := randBytes(rng, n)
		pl := rng.IntN(256)
		plain[n-2] = byte(pl)
		for i := 1; i <= pl && pl <= n-2; i++ {
			plain[n-2-pl+i-1] = byte(i)
		}
		for range rng.IntN(3) {
			plain[max(0, n-1-rng.IntN(260))] = byte(rng.Uint32())
		}
		_, _, _, err := ParseTrailer(plain)
		if padOK(plain) != (err == nil) {
			t.Fatalf("%d bytes, pad %d: padOK %v, ParseTrailer %v\n%x", n, pl, padOK(plain), err, plain[max(0, n-270):])
		}
	}
}

// TestETMLengthErrors checks the length rules before any cryptography, and that the packet is
// untouched when they refuse: too short for header, IV and trailer (ErrShort), AES-CBC
// ciphertext not a whole number of blocks (ErrBlockAlign, the framing is wrong on Seal and
// the lengths do not add up on Open), too little tailroom (ErrTailroom).
func TestETMLengthErrors(t *testing.T) {
	cbc, _ := mustETM(t, etmSuites[1], false, 1)
	null, _ := mustETM(t, etmSuites[6], false, 1)
	buf := func(n, room int) []byte { return make([]byte, n, n+room)[:n] }
	for _, tc := range []struct {
		name string
		tr   *Transform
		open bool
		pkt  []byte
		want error
	}{
		{"seal CBC 25 bytes", cbc, false, buf(25, 16), ErrShort},
		{"seal CBC 24+15", cbc, false, buf(39, 16), ErrBlockAlign},
		{"seal CBC 24+17", cbc, false, buf(41, 16), ErrBlockAlign},
		{"seal CBC tailroom 15", cbc, false, buf(40, 15), ErrTailroom},
		{"seal NULL 9 bytes", null, false, buf(9, 16), ErrShort},
		{"seal NULL tailroom 0", null, false, buf(12, 0), ErrTailroom},
		{"open CBC 25+16", cbc, true, buf(41, 0), ErrShort},
		{"open CBC 24+15+16", cbc, true, buf(55, 0), ErrBlockAlign},
		{"open NULL 9+12", null, true, buf(21, 0), ErrShort},
		{"open CBC empty", cbc, true, nil, ErrShort},
		{"open CBC 24+16+16 junk", cbc, true, buf(56, 0), ErrAuth},
		{"open NULL 10+12 junk", null, true, buf(22, 0), ErrAuth},
	} {
		before := bytes.Clone(tc.pkt)
		var got []byte
		var err error
		if tc.open {
			got, err = tc.tr.Open(new(Scratch), tc.pkt, 0)
		} else {
			got, err = tc.tr.Seal(new(Scratch), tc.pkt, 0)
		}
		if got != nil || err != tc.want {
			t.Errorf("%s: got %x, %v; want nil, %v", tc.name, got, err, tc.want)
		}
		if !bytes.Equal(tc.pkt, before) {
			t.Errorf("%s: packet changed", tc.name)
		}
	}
}

// TestCBCIV checks the IV construction: Seal writes a fresh IV whatever the IV room held, the
// IVs of thousands of packets on one SA (from several goroutines at once) are all distinct,
// they are not the sequence number nor anything the same key gives on another SA, and Seal
// never reuses one even for the very same packet and sequence number.
func TestCBCIV(t *testing.T) {
	tr, _ := mustETM(t, etmSuites[1], false, 1)
	tr2, _ := mustETM(t, etmSuites[1], false, 1) // same keys, its own IV key
	seen := make(map[[16]byte]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			s := new(Scratch)
			for range 2000 {
				pkt := frameETM(tr, 1, uint32(g), nil, 59)
				copy(pkt[HeaderLen:], bytes.Repeat([]byte{0xee}, 16))
				sealed, err := tr.Seal(s, pkt, 0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				iv := [16]byte(sealed[HeaderLen:24])
				if seen[iv] {
					t.Errorf("IV %x repeated", iv)
				}
				seen[iv] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 8000 {
		t.Fatalf("%d distinct IVs, want 8000", len(seen))
	}
	other, _ := tr2.Seal(new(Scratch), frameETM(tr2, 1, 0, nil, 59), 0)
	if seen[[16]byte(other[HeaderLen:24])] {
		t.Error("a second SA with the same keys produced an IV of the first")
	}
}

// TestETMParamErrors checks every refusal NewTransform makes for the new suites and the
// integrity rules for the old ones, by sentinel and by the sentence a user sees (R-SA-3: a
// wrong key length or algorithm pairing is a reason the SA is refused).
func TestETMParamErrors(t *testing.T) {
	k16, k20, k32 := make([]byte, 16), make([]byte, 20), make([]byte, 32)
	for _, tc := range []struct {
		p   Params
		is  error
		msg string
	}{
		{Params{Alg: AESCBC, KeyMat: k16}, ErrIntegrity,
			"esp: AES-CBC encryption needs integrity HMAC-SHA1-96 (1) or HMAC-SHA-256-128 (2), got none"},
		{Params{Alg: NULL, Integrity: GMAC128, IntegrityKey: k20}, ErrIntegrity,
			"esp: NULL encryption needs integrity HMAC-SHA1-96 (1) or HMAC-SHA-256-128 (2), got AES-GMAC-128"},
		{Params{Alg: AESCBC, KeyMat: k16, Integrity: 9, IntegrityKey: k20}, ErrIntegrity,
			"esp: AES-CBC encryption needs integrity HMAC-SHA1-96 (1) or HMAC-SHA-256-128 (2), got Integrity(9)"},
		{Params{Alg: AESCBC, KeyMat: k16, Integrity: HMACSHA1_96, IntegrityKey: k16}, ErrKeyLength,
			"esp: HMAC-SHA1-96 key is 16 bytes, want 20"},
		{Params{Alg: AESCBC, KeyMat: k16, Integrity: HMACSHA256_128, IntegrityKey: k20}, ErrKeyLength,
			"esp: HMAC-SHA-256-128 key is 20 bytes, want 32"},
		{Params{Alg: AESCBC, KeyMat: k20, Integrity: HMACSHA1_96, IntegrityKey: k20}, ErrKeyLength,
			"esp: AES-CBC key is 20 bytes, want 16, 24 or 32"},
		{Params{Alg: AESCBC, Integrity: HMACSHA1_96, IntegrityKey: k20}, ErrKeyLength,
			"esp: AES-CBC key is 0 bytes, want 16, 24 or 32"},
		{Params{Alg: NULL, KeyMat: k16, Integrity: HMACSHA1_96, IntegrityKey: k20}, ErrKeyLength,
			"esp: NULL encryption takes no key, got 16 bytes"},
		{Params{Alg: AESCBC, KeyMat: k16, Integrity: HMACSHA1_96, IntegrityKey: k20, ICVLen: 16}, ErrICVLength,
			"esp: HMAC-SHA1-96 ICV length 16, want 12"},
		{Params{Alg: NULL, Integrity: HMACSHA256_128, IntegrityKey: k32, ICVLen: 12}, ErrICVLength,
			"esp: HMAC-SHA-256-128 ICV length 12, want 16"},
		{Params{Alg: NULL, Integrity: HMACSHA256_128, IntegrityKey: k32, Impl: 4}, ErrImpl,
			"esp: implementation 4, want 0 (auto), 1 (stdlib), 2 (portable) or 3 (vaes)"},
		{Params{Alg: AESGCM, KeyMat: k20, Integrity: HMACSHA1_96, IntegrityKey: k20}, ErrIntegrity,
			"esp: AES-GCM authenticates by itself, want integrity none and no integrity key, got HMAC-SHA1-96 and 20 bytes"},
		{Params{Alg: AESGMAC, KeyMat: k20, IntegrityKey: k20}, ErrIntegrity,
			"esp: AES-GMAC authenticates by itself, want integrity none and no integrity key, got none and 20 bytes"},
	} {
		tr, err := NewTransform(tc.p)
		if tr != nil || !errors.Is(err, tc.is) || err.Error() != tc.msg+": "+tc.is.Error() {
			t.Errorf("NewTransform(%+v) = %v, %q; want nil, %q", tc.p, tr, err, tc.msg)
		}
	}
	// A pinned AES-GCM implementation does not stop an AES-CBC or NULL SA.
	for _, impl := range []Impl{ImplAuto, ImplStdlib, ImplPortable, ImplVAES} {
		if _, err := NewTransform(Params{Alg: NULL, Integrity: HMACSHA1_96, IntegrityKey: k20, Impl: impl}); err != nil {
			t.Errorf("NULL with Impl %v: %v", impl, err)
		}
	}
}

// TestETMAccessors pins what framing code reads from a transform, for every suite (the old
// ones included): IV room, payload offset, padding alignment and length, ICV, integrity,
// name, and what Transform.PutIV writes.
func TestETMAccessors(t *testing.T) {
	gcm := mustTransform(t, Params{Alg: AESGCM, KeyMat: make([]byte, 36), ICVLen: 12})
	gmac := mustTransform(t, Params{Alg: AESGMAC, KeyMat: make([]byte, 20)})
	cbc1 := mustTransform(t, Params{Alg: AESCBC, KeyMat: make([]byte, 32), Integrity: HMACSHA1_96, IntegrityKey: make([]byte, 20)})
	cbc2 := mustTransform(t, Params{Alg: AESCBC, KeyMat: make([]byte, 16), Integrity: HMACSHA256_128, IntegrityKey: make([]byte, 32), ICVLen: 16})
	null := mustTransform(t, Params{Alg: NULL, Integrity: HMACSHA256_128, IntegrityKey: make([]byte, 32)})
	for _, tc := range []struct {
		tr                       *Transform
		iv, off, align, pad, icv int
		integ                    Integrity
		suite                    string
		putIV                    bool
	}{
		{gcm, 8, 16, 4, 2, 12, IntegrityNone, "AES-GCM-256", true},
		{gmac, 8, 16, 4, 2, 16, IntegrityNone, "AES-GMAC-128", true},
		{cbc1, 16, 24, 16, 14, 12, HMACSHA1_96, "AES-CBC-256 + HMAC-SHA1-96", false},
		{cbc2, 16, 24, 16, 14, 16, HMACSHA256_128, "AES-CBC-128 + HMAC-SHA-256-128", false},
		{null, 0, 8, 4, 2, 16, HMACSHA256_128, "NULL + HMAC-SHA-256-128", false},
	} {
		tr := tc.tr
		if tr.IVLen() != tc.iv || tr.PayloadOffset() != tc.off || tr.PadAlign() != tc.align || tr.PadLen(64) != tc.pad ||
			tr.ICVLen() != tc.icv || tr.Integrity() != tc.integ || tr.Suite() != tc.suite || tr.Alg().IVLen() != tc.iv {
			t.Errorf("%s: IVLen %d PayloadOffset %d PadAlign %d PadLen(64) %d ICVLen %d Integrity %v Suite %q",
				tc.suite, tr.IVLen(), tr.PayloadOffset(), tr.PadAlign(), tr.PadLen(64), tr.ICVLen(), tr.Integrity(), tr.Suite())
		}
		pkt := make([]byte, 40)
		tr.PutIV(pkt, 0x0102030405060708)
		if wrote := !bytes.Equal(pkt, make([]byte, 40)); wrote != tc.putIV {
			t.Errorf("%s: PutIV wrote %v, want %v", tc.suite, wrote, tc.putIV)
		}
	}
	for n := range 300 {
		if AESGCM.PadLen(n) != PadLen(n) || AESCBC.PadLen(n) != (16-(n+2)%16)%16 || (n+2+NULL.PadLen(n))%4 != 0 {
			t.Fatalf("PadLen(%d): GCM %d CBC %d NULL %d", n, AESGCM.PadLen(n), AESCBC.PadLen(n), NULL.PadLen(n))
		}
	}
	for a, want := range map[Algorithm]string{AESCBC: "AES-CBC", NULL: "NULL", 3: "Algorithm(3)"} {
		if a.String() != want {
			t.Errorf("Algorithm(%d) = %q, want %q", uint8(a), a.String(), want)
		}
	}
	if !strings.HasPrefix(ErrBlockAlign.Error(), "esp: ") || !strings.HasPrefix(ErrIntegrity.Error(), "esp: ") {
		t.Error("new errors lack the esp: prefix")
	}
}

// TestETMWipe covers R-SA-5 for the new suites: after Wipe the AES key, the IV key and both
// HMAC pad states are zero and Seal and Open refuse with ErrWiped, without touching the
// packet.
func TestETMWipe(t *testing.T) {
	for _, su := range etmSuites {
		tr, _ := mustETM(t, su, true, 3)
		sealed, err := tr.Seal(new(Scratch), frameETM(tr, 1, 1, fill(40, 1), 4), 0)
		if err != nil {
			t.Fatal(err)
		}
		if tr.KeyZeroed() {
			t.Fatalf("%s: KeyZeroed before Wipe", su.name)
		}
		tr.Wipe()
		if !tr.KeyZeroed() || tr.block != nil || tr.iv.block != nil {
			t.Errorf("%s: after Wipe KeyZeroed %v, block %v, IV block %v", su.name, tr.KeyZeroed(), tr.block, tr.iv.block)
		}
		before := bytes.Clone(sealed)
		if got, err := tr.Open(new(Scratch), sealed, 0); got != nil || err != ErrWiped || !bytes.Equal(sealed, before) {
			t.Errorf("%s: Open after Wipe = %x, %v", su.name, got, err)
		}
		if got, err := tr.Seal(new(Scratch), frameETM(tr, 1, 1, nil, 4), 0); got != nil || err != ErrWiped {
			t.Errorf("%s: Seal after Wipe = %x, %v", su.name, got, err)
		}
	}
	// KeyZeroed must look at the pad states and the IV key, not only the AES key.
	tr, _ := mustETM(t, etmSuites[0], false, 3)
	clear(tr.keyMat)
	clear(tr.iv.key)
	if tr.KeyZeroed() {
		t.Error("KeyZeroed with the HMAC pad states intact = true")
	}
	tr.hm.wipe()
	if tr.cbcKey != nil { // ImplVAES: the CBC key schedules count too
		if tr.KeyZeroed() {
			t.Error("KeyZeroed with the CBC round keys intact = true")
		}
		tr.cbcKey.Wipe()
	}
	if !tr.KeyZeroed() {
		t.Error("KeyZeroed with everything cleared = false")
	}
}
