package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// TestWycheproof runs all 404 Wycheproof AES-GCM and AES-GMAC cases (96-bit IV, 128-bit tag)
// through the same core functions Seal and Open use, with the Wycheproof IV split the RFC 4106
// way: salt = iv[0:4] (the tail of the key material), explicit IV = iv[4:12]. Where a GCM
// case's AAD has the shape of an ESP AAD (8 bytes SPI ‖ seq, or 12 with ESN) it also goes
// through the full Seal and Open. Covers SPEC §7 (AES-GCM per RFC 4106, AES-GMAC per RFC 4543)
// and SPEC §6's crypto stage: every verdict must match, with every implementation.
func TestWycheproof(t *testing.T) {
	forEachImpl(t, testWycheproof)
}

func testWycheproof(t *testing.T, impl Impl) {
	cases := loadWycheproof(t)
	var total, valid, invalid, viaESP int
	for _, c := range cases {
		total++
		switch c.Result {
		case "valid":
			valid++
		case "invalid":
			invalid++
		default:
			t.Fatalf("%s tc %d: result %q", c.File, c.TcID, c.Result)
		}
		t.Run(fmt.Sprintf("%s/tc%d", c.Kind, c.TcID), func(t *testing.T) {
			switch c.Kind {
			case "gcm":
				if wycheproofGCM(t, c, impl) {
					viaESP++
				}
			case "gmac":
				wycheproofGMAC(t, c, impl)
			default:
				t.Fatalf("kind %q", c.Kind)
			}
		})
	}
	if total != 404 || valid != 161 || invalid != 243 {
		t.Errorf("cases = %d (%d valid, %d invalid), want 404 (161 valid, 243 invalid)", total, valid, invalid)
	}
	// The subset holds five GCM cases with an 8-byte AAD and none with 12; if this changes,
	// the ESP-path coverage changed with it.
	if viaESP != 5 {
		t.Errorf("%d cases went through Seal/Open, want 5", viaESP)
	}
}

// wycheproofSetup keys a transform from a Wycheproof key and 12-byte IV and returns it with
// the nonce the packet path would build.
func wycheproofSetup(t *testing.T, c wycheproofCase, alg Algorithm, esn bool, impl Impl) (*Transform, *Scratch, []byte) {
	t.Helper()
	iv := unhex(t, c.IV)
	if len(iv) != NonceLen {
		t.Fatalf("IV is %d bytes, want %d", len(iv), NonceLen)
	}
	tr := mustTransform(t, Params{Alg: alg, KeyMat: append(unhex(t, c.Key), iv[:SaltLen]...), ESN: esn, Impl: impl})
	s := new(Scratch)
	return tr, s, tr.nonce(s, iv[SaltLen:])
}

// wycheproofGCM checks one GCM case and reports whether it also went through Seal and Open.
func wycheproofGCM(t *testing.T, c wycheproofCase, impl Impl) bool {
	tr, s, nonce := wycheproofSetup(t, c, AESGCM, false, impl)
	aad, msg := unhex(t, c.AAD), unhex(t, c.Msg)
	sealedWant := append(unhex(t, c.CT), unhex(t, c.Tag)...)

	buf := withTailroom(sealedWant)
	got, err := tr.openCore(s, nonce, aad, buf)
	if c.Result == "valid" {
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("open = %x, %v; want %x, nil", got, err, msg)
		}
		if out := tr.sealCore(s, nonce, aad, withTailroom(msg)); !bytes.Equal(out, sealedWant) {
			t.Fatalf("seal:\n got %x\nwant %x", out, sealedWant)
		}
	} else {
		if !errors.Is(err, ErrAuth) || got != nil {
			t.Fatalf("open = %x, %v; want nil, ErrAuth", got, err)
		}
		if !bytes.Equal(buf, sealedWant) {
			t.Fatalf("open changed the input on ErrAuth: %x", buf)
		}
	}

	if (len(aad) != 8 && len(aad) != 12) || len(msg) < TrailerLen {
		return false
	}
	esn := len(aad) == 12
	tr, s, _ = wycheproofSetup(t, c, AESGCM, esn, impl)
	var seqHi uint32
	hdr := aad[:HeaderLen]
	if esn {
		hdr = append(bytes.Clone(aad[:4]), aad[8:12]...)
		seqHi = binary.BigEndian.Uint32(aad[4:8])
	}
	iv := unhex(t, c.IV)[SaltLen:]
	frame := func(body []byte) []byte {
		return withTailroom(append(append(bytes.Clone(hdr), iv...), body...))
	}
	wantPkt := frame(sealedWant)
	got, err = tr.Open(s, bytes.Clone(wantPkt), seqHi)
	if valid := c.Result == "valid"; valid != (err == nil) {
		t.Fatalf("ESP Open verdict %v, want %s", err, c.Result)
	}
	if err == nil && !bytes.Equal(got, msg) {
		t.Fatalf("ESP Open = %x, want %x", got, msg)
	}
	if c.Result == "valid" {
		sealed, err := tr.Seal(s, frame(msg), seqHi)
		if err != nil || !bytes.Equal(sealed, wantPkt) {
			t.Fatalf("ESP Seal = %x, %v; want %x", sealed, err, wantPkt)
		}
	}
	return true
}

// wycheproofGMAC checks one GMAC case: the data is authenticated only, as the AAD of an empty
// plaintext, exactly what RFC 4543 does with an ESP packet.
func wycheproofGMAC(t *testing.T, c wycheproofCase, impl Impl) {
	if c.Msg != "" || c.CT != "" {
		t.Fatalf("GMAC case with a message (%q) or ciphertext (%q): the AAD would be ambiguous", c.Msg, c.CT)
	}
	tr, s, nonce := wycheproofSetup(t, c, AESGMAC, false, impl)
	aad, tag := unhex(t, c.AAD), unhex(t, c.Tag)
	if ok := tr.gmacVerify(s, nonce, aad, tag); ok != (c.Result == "valid") {
		t.Fatalf("gmacVerify = %v, want %s", ok, c.Result)
	}
	if c.Result == "valid" {
		if got := tr.gmacTag(s, nonce, aad); !bytes.Equal(got, tag) {
			t.Fatalf("gmacTag = %x, want %x", got, tag)
		}
	}
}
