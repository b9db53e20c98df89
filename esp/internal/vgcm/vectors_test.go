package vgcm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The known-answer files are package esp's (esp/testdata, see its README.md: copies of the
// project's shared vectors); only the fields used here are decoded.

type draftVector struct {
	Name       string `json:"name"`
	Algorithm  string `json:"algorithm"`
	KeyBits    int    `json:"key_bits"`
	Key        string `json:"key"`
	Nonce      string `json:"nonce"`
	AAD        string `json:"aad"`
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext_with_tag"`
	ICV        string `json:"icv"`
}

type wycheproofCase struct {
	TcID   int    `json:"tcId"`
	Key    string `json:"key"`
	IV     string `json:"iv"`
	Result string `json:"result"`
	AAD    string `json:"aad"`
	Msg    string `json:"msg"`
	CT     string `json:"ct"`
	Tag    string `json:"tag"`
	Kind   string `json:"kind"`
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name)) // package esp's copies
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDraftVectors runs the 17 cases of draft-mcgrew-gcm-test-01 (16 AES-GCM with 128-,
// 192- and 256-bit keys, one AES-GMAC), each with its 16-byte ICV and with the 12- and
// 8-byte truncations of it.
func TestDraftVectors(t *testing.T) {
	skipUnsupported(t)
	var file struct {
		Vectors []draftVector `json:"vectors"`
	}
	loadJSON(t, "esp_gcm_vectors.json", &file)
	if len(file.Vectors) != 17 {
		t.Fatalf("%d draft vectors, want 17", len(file.Vectors))
	}
	sizes := map[int]bool{}
	for _, v := range file.Vectors {
		key, nonce, aad := unhex(t, v.Key), unhex(t, v.Nonce), unhex(t, v.AAD)
		pt, want, icv := unhex(t, v.Plaintext), unhex(t, v.Ciphertext), unhex(t, v.ICV)
		if len(key)*8 != v.KeyBits || len(nonce) != NonceSize {
			t.Fatalf("%s: key %d bytes, nonce %d bytes", v.Name, len(key), len(nonce))
		}
		if v.Algorithm == "AES-GMAC-ESP" {
			want = icv // RFC 4543: nothing encrypted, the ICV alone
		}
		sizes[v.KeyBits] = true
		k := mustKey(t, key)
		n := len(pt)
		for _, tagLen := range tagLens {
			exp := want[:n+tagLen]
			out := make([]byte, n+tagLen)
			k.Seal(out, nonce, pt, aad, tagLen)
			if !bytes.Equal(out, exp) {
				t.Errorf("%s tag %d: Seal\n got %x\nwant %x", v.Name, tagLen, out, exp)
			}
			dec := make([]byte, n)
			if !k.Open(dec, nonce, exp, aad, tagLen) || !bytes.Equal(dec, pt) {
				t.Errorf("%s tag %d: Open failed or wrong plaintext", v.Name, tagLen)
			}
			bad := bytes.Clone(exp)
			bad[len(bad)-1] ^= 1
			if k.Open(dec, nonce, bad, aad, tagLen) {
				t.Errorf("%s tag %d: Open accepted a modified tag", v.Name, tagLen)
			}
		}
	}
	if len(sizes) != 3 {
		t.Errorf("key sizes covered: %v", sizes)
	}
}

// TestWycheproof runs every case of the Wycheproof AES-GCM and AES-GMAC subset (96-bit
// IV, 128-bit tag): valid cases must seal to ct ‖ tag and open, invalid ones (all of them
// modified tags) must fail to open and leave the buffer as it was. Valid cases are also
// checked with the tag truncated to 12 and 8 bytes.
func TestWycheproof(t *testing.T) {
	skipUnsupported(t)
	var file struct {
		Tests []wycheproofCase `json:"tests"`
	}
	loadJSON(t, "wycheproof_esp_subset.json", &file)
	if len(file.Tests) != 404 {
		t.Fatalf("%d Wycheproof cases, want 404", len(file.Tests))
	}
	var valid, invalid int
	for _, c := range file.Tests {
		key, nonce, aad := unhex(t, c.Key), unhex(t, c.IV), unhex(t, c.AAD)
		msg, ct, tag := unhex(t, c.Msg), unhex(t, c.CT), unhex(t, c.Tag)
		if c.Kind == "gmac" {
			// The message is authenticated only: it is the AAD, and nothing is encrypted.
			aad, msg, ct = append(aad, msg...), nil, nil
		}
		k := mustKey(t, key)
		sealed := append(bytes.Clone(ct), tag...)
		n := len(ct)
		switch c.Result {
		case "valid":
			valid++
			for _, tagLen := range tagLens {
				exp := sealed[:n+tagLen]
				out := make([]byte, n+tagLen)
				k.Seal(out, nonce, msg, aad, tagLen)
				if !bytes.Equal(out, exp) {
					t.Errorf("tcId %d (%s) tag %d: Seal\n got %x\nwant %x", c.TcID, c.Kind, tagLen, out, exp)
				}
				buf := bytes.Clone(exp)
				if !k.Open(buf, nonce, buf, aad, tagLen) || !bytes.Equal(buf[:n], msg) {
					t.Errorf("tcId %d (%s) tag %d: Open", c.TcID, c.Kind, tagLen)
				}
			}
		case "invalid":
			invalid++
			buf := bytes.Clone(sealed)
			if k.Open(buf, nonce, buf, aad, 16) {
				t.Errorf("tcId %d (%s): Open accepted an invalid case", c.TcID, c.Kind)
			}
			if !bytes.Equal(buf, sealed) {
				t.Errorf("tcId %d (%s): failed Open changed the buffer", c.TcID, c.Kind)
			}
		default:
			t.Fatalf("tcId %d: result %q", c.TcID, c.Result)
		}
	}
	if valid != 161 || invalid != 243 {
		t.Errorf("%d valid, %d invalid; want 161, 243", valid, invalid)
	}
}
