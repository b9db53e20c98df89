package xfrm

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// FuzzParse feeds Parse arbitrary files. The seeds (testdata/fuzz/FuzzParse) cover each
// command and listing form and each kind of error. Parse must not panic; an error must be an
// *Error on a line of the input; states must be valid and survive Format → Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		states, err := Parse("fuzz", bytes.NewReader(data))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; e.File != "fuzz" || e.Line < 1 || e.Line > lines || e.Msg == "" {
				t.Fatalf("error not placed on one of the %d lines: %#v", lines, *e)
			}
			return
		}
		prev := 0
		for i := range states {
			s := &states[i]
			if s.File != "fuzz" || s.Line <= prev {
				t.Fatalf("state %d at %s:%d after line %d", i, s.File, s.Line, prev)
			}
			prev = s.Line
			switch {
			case len(s.Key) != 16 && len(s.Key) != 24 && len(s.Key) != 32:
				t.Fatalf("state %d: key of %d bytes", i, len(s.Key))
			case s.Alg == esp.AESGCM && s.ICVLen != 8 && s.ICVLen != 12 && s.ICVLen != 16,
				s.Alg == esp.AESGMAC && s.ICVLen != 16,
				s.Alg != esp.AESGCM && s.Alg != esp.AESGMAC:
				t.Fatalf("state %d: %v with ICV %d", i, s.Alg, s.ICVLen)
			case !s.Src.IsValid() || !s.Dst.IsValid() || s.Src.Is4() != s.Dst.Is4():
				t.Fatalf("state %d: %v -> %v", i, s.Src, s.Dst)
			case s.SPI == 0:
				t.Fatalf("state %d: SPI 0", i)
			case s.Encap != nil && !s.Encap.OA.IsValid():
				t.Fatalf("state %d: encap without address", i)
			case s.Sel.Src != (netip.Prefix{}) && !s.Sel.Src.IsValid(), s.Sel.Dst != (netip.Prefix{}) && !s.Sel.Dst.IsValid():
				t.Fatalf("state %d: selector %v", i, s.Sel)
			}
			if field, msg := check(s); msg != "" {
				t.Fatalf("state %d: field %s: %s", i, field, msg)
			}
			if out := s.Outbound(); s.ESN && out.StartSeq == 0 || !s.ESN && out.StartSeq > 1<<32-1 {
				t.Fatalf("state %d: outbound starts at %#x", i, out.StartSeq)
			}
		}
		var b strings.Builder
		if err := Format(&b, states); err != nil {
			t.Fatalf("Format: %v", err)
		}
		back, err := Parse("formatted", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("Parse(Format(states)): %v\n%s", err, b.String())
		}
		equalStates(t, withoutPlace(back), withoutPlace(states))
		if err := WriteWiresharkKeys(&b, states); err != nil {
			t.Fatalf("WriteWiresharkKeys: %v", err)
		}
	})
}

// TestFuzzSeeds keeps the seed corpus meaningful: the err_ seeds fail, the others parse to the
// number of states they hold.
func TestFuzzSeeds(t *testing.T) {
	want := map[string]int{
		"cmd_every_field": 1, "cmd_ignored_keywords": 1, "cmd_ipv6_gmac": 2, "cmd_minimal": 1,
		"cmd_offload_flags": 1, "cmd_selector": 2, "cmd_seq_limits": 2, "cmd_sudo_continuation": 1,
		"empty_comments": 0, "listing_esn": 1, "listing_non_esn_ipv6_tunnel": 1, "listing_old_flag_hex": 1,
		"listing_sa_dir_forms": 2, "listing_stats": 1, "mixed_demo": 5,
		"err_duplicate": -1, "err_enc_cbc": -1, "err_hi_without_esn": -1, "err_mixed_families_octal": -1,
		"err_nokeys": -1, "err_not_indented": -1, "err_unterminated_quote": -1,
	}
	entries, err := os.ReadDir("testdata/fuzz/FuzzParse")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d seeds, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzParse", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
		body, ok2 := strings.CutSuffix(body, ")\n")
		data, err := strconv.Unquote(body)
		if !ok || !ok2 || err != nil {
			t.Errorf("%s: not a go test fuzz v1 []byte file", e.Name())
			continue
		}
		states, err := Parse(e.Name(), strings.NewReader(data))
		n, known := want[e.Name()]
		switch {
		case !known:
			t.Errorf("%s: unexpected seed", e.Name())
		case n < 0 && err == nil:
			t.Errorf("%s: parsed, want an error", e.Name())
		case n >= 0 && (err != nil || len(states) != n):
			t.Errorf("%s: %d states, %v; want %d states", e.Name(), len(states), err, n)
		}
		if e.Name() == "listing_old_flag_hex" && err == nil && !states[0].ESN {
			t.Errorf("%s: flag 80 (old iproute2's esn) did not set ESN", e.Name())
		}
	}
}
