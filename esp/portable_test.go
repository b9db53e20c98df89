package esp

import (
	"bytes"
	"testing"
)

// TestPortableScratch checks what the portable core leaves in a lane's Scratch: no
// keystream (with the ciphertext it would give the plaintext) and, in s.tag, only the tag
// itself, never the mask AES_K(J0) or the bare GHASH value (either would, with the packet,
// give an equation in H). Covers the Scratch contract and SPEC §6's portable fallback.
func TestPortableScratch(t *testing.T) {
	v := loadDraft(t)[2] // case 3: AES-GCM-256, 16-byte ICV
	port := mustTransform(t, Params{Alg: AESGCM, KeyMat: unhex(t, v.KeyMat), ESN: v.ESN, Impl: ImplPortable})
	s := new(Scratch)
	want := unhex(t, v.Packet)
	icv := want[len(want)-MaxICVLen:]

	sealed, err := port.Seal(s, draftFrame(t, v, unhex(t, v.Plaintext)), v.SeqHi)
	if err != nil || !bytes.Equal(sealed, want) {
		t.Fatalf("Seal = %x, %v; want %x", sealed, err, want)
	}
	check := func(what string) {
		t.Helper()
		if s.ks != [ksLen]byte{} {
			t.Errorf("%s: keystream left in the Scratch: %x", what, s.ks)
		}
		if !bytes.Equal(s.tag[:], icv) {
			t.Errorf("%s: s.tag = %x, want the ICV %x", what, s.tag, icv)
		}
	}
	check("Seal")
	if _, err := port.Open(s, withTailroom(want), v.SeqHi); err != nil {
		t.Fatalf("Open: %v", err)
	}
	check("Open")
	bad := withTailroom(want)
	bad[PayloadOffset] ^= 1
	expectAuthFail(t, port, s, bad, v.SeqHi, "first data byte")
	if s.ks != [ksLen]byte{} {
		t.Errorf("failed Open: keystream in the Scratch: %x", s.ks)
	}
}

// TestPortableMACRefusesPlaintext checks the guard on portableMAC.Seal: it exists only so
// that GMAC tags take one interface call, and it must fail loudly rather than return a tag
// over data it did not encrypt if a later change ever passes it a plaintext.
func TestPortableMACRefusesPlaintext(t *testing.T) {
	tr := mustTransform(t, Params{Alg: AESGMAC, KeyMat: make([]byte, 20), Impl: ImplPortable})
	defer func() {
		if r := recover(); r != "esp: portable GMAC tag asked to encrypt" {
			t.Errorf("recovered %v, want the portableMAC panic", r)
		}
	}()
	tr.mac.Seal(make([]byte, 0, 32), make([]byte, NonceLen), []byte{1}, nil)
	t.Error("portableMAC.Seal with a plaintext returned")
}
