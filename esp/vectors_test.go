package esp

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// draftVector is one case of testdata/esp_gcm_vectors.json (draft-mcgrew-gcm-test-01 §4);
// only the fields the tests use are decoded.
type draftVector struct {
	Name       string `json:"name"`
	Algorithm  string `json:"algorithm"`
	KeyBits    int    `json:"key_bits"`
	Key        string `json:"key"`
	Salt       string `json:"salt"`
	KeyMat     string `json:"keymat_key_plus_salt"`
	SPI        uint32 `json:"spi_int"`
	ESN        bool   `json:"esn"`
	SeqHi      uint32 `json:"seq_hi32"` // null (0) without ESN
	SeqLo      uint32 `json:"seq_lo32"`
	IV         string `json:"iv"`
	AAD        string `json:"aad"`
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext_with_tag"`
	ICV        string `json:"icv"`
	Packet     string `json:"esp_packet"`
	Trailer    struct {
		NextHeader byte   `json:"next_header"`
		PadLength  int    `json:"pad_length"`
		Padding    string `json:"padding_hex"`
		InnerLen   int    `json:"inner_len"`
		Inner      string `json:"inner_hex"`
	} `json:"trailer"`
}

// wycheproofCase is one case of testdata/wycheproof_esp_subset.json.
type wycheproofCase struct {
	File   string   `json:"file"`
	TcID   int      `json:"tcId"`
	Flags  []string `json:"flags"`
	Key    string   `json:"key"`
	IV     string   `json:"iv"`
	Result string   `json:"result"`
	AAD    string   `json:"aad"`
	Msg    string   `json:"msg"`
	CT     string   `json:"ct"`
	Tag    string   `json:"tag"`
	Kind   string   `json:"kind"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadDraft(t testing.TB) []draftVector {
	var f struct {
		Vectors []draftVector `json:"vectors"`
	}
	loadJSON(t, "esp_gcm_vectors.json", &f)
	if len(f.Vectors) != 17 {
		t.Fatalf("esp_gcm_vectors.json has %d cases, want 17", len(f.Vectors))
	}
	return f.Vectors
}

func loadWycheproof(t testing.TB) []wycheproofCase {
	var f struct {
		Tests []wycheproofCase `json:"tests"`
	}
	loadJSON(t, "wycheproof_esp_subset.json", &f)
	return f.Tests
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// withTailroom copies b into a fresh buffer with MaxICVLen spare capacity, so that a test's
// expected bytes never alias the buffer under test.
func withTailroom(b []byte) []byte {
	out := make([]byte, len(b), len(b)+MaxICVLen)
	copy(out, b)
	return out
}

func mustTransform(t testing.TB, p Params) *Transform {
	t.Helper()
	tr, err := NewTransform(p)
	if err != nil {
		t.Fatalf("NewTransform(%v, %d-byte key material, ICV %d, ESN %v): %v", p.Alg, len(p.KeyMat), p.ICVLen, p.ESN, err)
	}
	return tr
}

func draftAlg(t testing.TB, v draftVector) Algorithm {
	switch v.Algorithm {
	case "AES-GCM-ESP":
		return AESGCM
	case "AES-GMAC-ESP":
		return AESGMAC
	}
	t.Fatalf("%s: unknown algorithm %q", v.Name, v.Algorithm)
	return 0
}
