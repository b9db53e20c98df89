package esp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestNewTransformErrors checks every rejection NewTransform makes, by sentinel and by the
// exact sentence a user sees. Covers R-SA-3 (key length wrong is a reason the SA is refused),
// SPEC §7 (ICV 16, or 8/12; GMAC only 16) and SPEC §6 (only known implementations).
func TestNewTransformErrors(t *testing.T) {
	k20 := make([]byte, 20)
	tests := []struct {
		name string
		p    Params
		is   error
		msg  string
	}{
		{"algorithm 0", Params{Alg: 0, KeyMat: k20}, ErrAlgorithm,
			"esp: algorithm 0 is neither AES-GCM (1) nor AES-GMAC (2): esp: unknown algorithm"},
		{"algorithm 3", Params{Alg: 3, KeyMat: k20}, ErrAlgorithm,
			"esp: algorithm 3 is neither AES-GCM (1) nor AES-GMAC (2): esp: unknown algorithm"},
		{"key 16 (no salt)", Params{Alg: AESGCM, KeyMat: make([]byte, 16)}, ErrKeyLength,
			"esp: key material is 16 bytes, want 20, 28 or 36 (key‖salt): esp: bad key material length"},
		{"key 17", Params{Alg: AESGCM, KeyMat: make([]byte, 17)}, ErrKeyLength,
			"esp: key material is 17 bytes, want 20, 28 or 36 (key‖salt): esp: bad key material length"},
		{"key 37", Params{Alg: AESGMAC, KeyMat: make([]byte, 37)}, ErrKeyLength,
			"esp: key material is 37 bytes, want 20, 28 or 36 (key‖salt): esp: bad key material length"},
		{"key nil", Params{Alg: AESGCM}, ErrKeyLength,
			"esp: key material is 0 bytes, want 20, 28 or 36 (key‖salt): esp: bad key material length"},
		{"ICV 4", Params{Alg: AESGCM, KeyMat: k20, ICVLen: 4}, ErrICVLength,
			"esp: ICV length 4, want 8, 12 or 16: esp: bad ICV length"},
		{"ICV 32", Params{Alg: AESGCM, KeyMat: k20, ICVLen: 32}, ErrICVLength,
			"esp: ICV length 32, want 8, 12 or 16: esp: bad ICV length"},
		{"ICV -16", Params{Alg: AESGCM, KeyMat: k20, ICVLen: -16}, ErrICVLength,
			"esp: ICV length -16, want 8, 12 or 16: esp: bad ICV length"},
		{"GMAC ICV 12", Params{Alg: AESGMAC, KeyMat: k20, ICVLen: 12}, ErrICVLength,
			"esp: AES-GMAC ICV length 12, want 16 (RFC 4543): esp: bad ICV length"},
		{"GMAC ICV 8", Params{Alg: AESGMAC, KeyMat: k20, ICVLen: 8}, ErrICVLength,
			"esp: AES-GMAC ICV length 8, want 16 (RFC 4543): esp: bad ICV length"},
		{"impl 4", Params{Alg: AESGCM, KeyMat: k20, Impl: 4}, ErrImpl,
			"esp: implementation 4, want 0 (auto), 1 (stdlib), 2 (portable) or 3 (vaes): esp: unknown implementation"},
		{"impl 255", Params{Alg: AESGMAC, KeyMat: k20, Impl: 255}, ErrImpl,
			"esp: implementation 255, want 0 (auto), 1 (stdlib), 2 (portable) or 3 (vaes): esp: unknown implementation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTransform(tc.p)
			if tr != nil || !errors.Is(err, tc.is) || err.Error() != tc.msg {
				t.Errorf("NewTransform = %v, %q; want nil, %q", tr, err, tc.msg)
			}
		})
	}
}

// TestTransformAccessors checks the resolved parameters, including ICVLen 0 meaning 16 and
// ImplAuto meaning whatever the CPU calls for (SPEC §6: chosen once, per SA).
func TestTransformAccessors(t *testing.T) {
	auto := wantAutoImpl()
	for _, tc := range []struct {
		p        Params
		wantICV  int
		wantImpl Impl
	}{
		{Params{Alg: AESGCM, KeyMat: make([]byte, 20)}, 16, auto},
		{Params{Alg: AESGCM, KeyMat: make([]byte, 28), ICVLen: 12, ESN: true, Impl: ImplPortable}, 12, ImplPortable},
		{Params{Alg: AESGCM, KeyMat: make([]byte, 36), ICVLen: 8, Impl: ImplStdlib}, 8, ImplStdlib},
		{Params{Alg: AESGMAC, KeyMat: make([]byte, 36), ICVLen: 16, ESN: true, Impl: ImplAuto}, 16, auto},
		{Params{Alg: AESGMAC, KeyMat: make([]byte, 20), Impl: ImplPortable}, 16, ImplPortable},
	} {
		tr := mustTransform(t, tc.p)
		if tr.Alg() != tc.p.Alg || tr.ICVLen() != tc.wantICV || tr.ESN() != tc.p.ESN || tr.ImplKind() != tc.wantImpl {
			t.Errorf("%v/%d/%v/%v: Alg, ICVLen, ESN, ImplKind = %v, %d, %v, %v; want %v, %d, %v, %v",
				tc.p.Alg, tc.p.ICVLen, tc.p.ESN, tc.p.Impl, tr.Alg(), tr.ICVLen(), tr.ESN(), tr.ImplKind(),
				tc.p.Alg, tc.wantICV, tc.p.ESN, tc.wantImpl)
		}
	}
}

// TestAlgorithmString pins the names that logs and errors print.
func TestAlgorithmString(t *testing.T) {
	for a, want := range map[Algorithm]string{AESGCM: "AES-GCM", AESGMAC: "AES-GMAC", 0: "Algorithm(0)", 9: "Algorithm(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Algorithm(%d).String() = %q, want %q", uint8(a), got, want)
		}
	}
}

// TestWipe covers R-SA-5: after Wipe (DELETE_SA) the key material is zero and no packet is
// processed; and NewTransform's copy means the caller's buffer is neither zeroed by Wipe nor
// able to change the transform's key afterwards. For the portable implementation KeyZeroed
// also covers its GHASH table, which Wipe must clear too.
func TestWipe(t *testing.T) {
	forEachImpl(t, testWipe)
}

func testWipe(t *testing.T, impl Impl) {
	v := loadDraft(t)[1] // case 2: AES-GCM-128, no ESN
	keyMat := unhex(t, v.KeyMat)
	tr := mustTransform(t, Params{Alg: AESGCM, KeyMat: keyMat, Impl: impl})
	clear(keyMat) // the caller wipes its copy; the transform must still work
	s := new(Scratch)
	want := unhex(t, v.Packet)
	sealed, err := tr.Seal(s, draftFrame(t, v, unhex(t, v.Plaintext)), 0)
	if err != nil || !bytes.Equal(sealed, want) {
		t.Fatalf("Seal after the caller cleared its key = %x, %v; want %x", sealed, err, want)
	}
	if tr.KeyZeroed() {
		t.Fatal("KeyZeroed before Wipe")
	}

	if impl == ImplPortable {
		// KeyZeroed must look at both tables, not only at the key bytes.
		saved, h := bytes.Clone(tr.keyMat), tr.pg.h
		clear(tr.keyMat)
		if tr.KeyZeroed() {
			t.Error("KeyZeroed with the key cleared but the GHASH tables intact = true")
		}
		clear(tr.pg.h[:])
		if tr.KeyZeroed() {
			t.Error("KeyZeroed with the key and H table cleared but the H² table intact = true")
		}
		copy(tr.keyMat, saved)
		tr.pg.h = h
	}

	tr.Wipe()
	if !tr.KeyZeroed() {
		t.Error("KeyZeroed after Wipe = false")
	}
	if tr.pg != nil && (tr.pg.h != ghashTable{} || tr.pg.h2 != ghashTable{} || tr.pg.block != nil) {
		t.Error("Wipe left a portable GHASH table or the block cipher in place")
	}
	if tr.aead != nil || tr.mac != nil {
		t.Error("Wipe left a cipher object referenced")
	}
	if tr.ImplKind() != impl {
		t.Errorf("ImplKind after Wipe = %v, want %v", tr.ImplKind(), impl)
	}
	pkt := draftFrame(t, v, unhex(t, v.Plaintext))
	before := bytes.Clone(pkt)
	if got, err := tr.Seal(s, pkt, 0); got != nil || !errors.Is(err, ErrWiped) {
		t.Errorf("Seal after Wipe = %x, %v; want nil, ErrWiped", got, err)
	}
	if !bytes.Equal(pkt, before) {
		t.Error("Seal after Wipe touched the packet")
	}
	if got, err := tr.Open(s, withTailroom(want), 0); got != nil || !errors.Is(err, ErrWiped) {
		t.Errorf("Open after Wipe = %x, %v; want nil, ErrWiped", got, err)
	}
	if !strings.HasPrefix(ErrWiped.Error(), "esp: ") {
		t.Errorf("ErrWiped = %q, want the esp: prefix", ErrWiped)
	}
}

// TestLengthErrors checks the bounds Seal and Open enforce before any cryptography, and that
// the packet is untouched when they refuse. Covers SPEC §7 (fixed field sizes), R-TX-4 (room
// for the ICV is the host's part of the framing) and R-RX-5, with every implementation.
func TestLengthErrors(t *testing.T) {
	forEachImpl(t, testLengthErrors)
}

func testLengthErrors(t *testing.T, impl Impl) {
	gcm := mustTransform(t, Params{Alg: AESGCM, KeyMat: make([]byte, 20), Impl: impl})
	gcm8 := mustTransform(t, Params{Alg: AESGCM, KeyMat: make([]byte, 20), ICVLen: 8, Impl: impl})
	gmac := mustTransform(t, Params{Alg: AESGMAC, KeyMat: make([]byte, 20), ESN: true, Impl: impl})
	buf := func(n, room int) []byte {
		b := make([]byte, n, n+room)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	tests := []struct {
		name string
		tr   *Transform
		open bool
		pkt  []byte
		want error
	}{
		{"seal 17 bytes", gcm, false, buf(PayloadOffset+TrailerLen-1, MaxICVLen), ErrShort},
		{"seal empty", gmac, false, nil, ErrShort},
		{"seal tailroom 15", gcm, false, buf(40, MaxICVLen-1), ErrTailroom},
		{"seal tailroom 15, ICV 8", gcm8, false, buf(40, MaxICVLen-1), ErrTailroom},
		{"seal GMAC tailroom 0", gmac, false, buf(40, 0), ErrTailroom},
		{"open 33 bytes, ICV 16", gcm, true, buf(PayloadOffset+TrailerLen+16-1, 0), ErrShort},
		{"open 25 bytes, ICV 8", gcm8, true, buf(PayloadOffset+TrailerLen+8-1, 0), ErrShort},
		{"open 33 bytes, GMAC", gmac, true, buf(33, 0), ErrShort},
		{"open empty", gcm, true, nil, ErrShort},
		{"open 34 bytes of junk, ICV 16", gcm, true, buf(34, 0), ErrAuth},
		{"open 26 bytes of junk, ICV 8", gcm8, true, buf(26, 0), ErrAuth},
		{"open 34 bytes of junk, GMAC", gmac, true, buf(34, 0), ErrAuth},
	}
	s := new(Scratch)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := bytes.Clone(tc.pkt)
			var got []byte
			var err error
			if tc.open {
				got, err = tc.tr.Open(s, tc.pkt, 0)
			} else {
				got, err = tc.tr.Seal(s, tc.pkt, 0)
			}
			if got != nil || err != tc.want {
				t.Errorf("got %x, %v; want nil, %v", got, err, tc.want)
			}
			if !bytes.Equal(tc.pkt, before) {
				t.Errorf("packet changed: %x", tc.pkt)
			}
		})
	}
}

// TestConcurrentLanes runs Seal and Open on one shared transform from several goroutines, each
// with its own Scratch, the way lanes use an SA (DESIGN: run-to-completion lanes). Under -race
// this checks that the transform really is read-only on the data path; every lane must also
// get exactly the bytes a single lane gets. Run for every implementation, since the portable
// core's tables are shared by all lanes too.
func TestConcurrentLanes(t *testing.T) {
	forEachImpl(t, testConcurrentLanes)
}

func testConcurrentLanes(t *testing.T, impl Impl) {
	for _, c := range allocConfigs {
		p := c.p
		p.ESN = true
		p.Impl = impl
		tr := mustTransform(t, p)
		want, err := tr.Seal(new(Scratch), testPacket(300, 0x3_00000004), 3)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				l := new(lane)
				for range 50 {
					sealed, err := tr.Seal(&l.s, testPacket(300, 0x3_00000004), 3)
					if err != nil || !bytes.Equal(sealed, want) {
						errs <- fmt.Errorf("%s: Seal = %v, bytes differ: %v", c.name, err, !bytes.Equal(sealed, want))
						return
					}
					if _, err := tr.Open(&l.s, sealed, 3); err != nil {
						errs <- fmt.Errorf("%s: Open: %v", c.name, err)
						return
					}
				}
				errs <- nil
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}
