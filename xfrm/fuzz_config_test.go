package xfrm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// readSeed reads a seed file of the go test fuzz v1 format holding one []byte.
func readSeed(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	body, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
	body, ok2 := strings.CutSuffix(body, ")\n")
	data, err := strconv.Unquote(body)
	if !ok || !ok2 || err != nil {
		return nil, fmt.Errorf("%s: not a go test fuzz v1 []byte file", path)
	}
	return []byte(data), nil
}

// FuzzParseConfig feeds ParseConfig arbitrary files. Its seeds are its own corpus
// (testdata/fuzz/FuzzParseConfig: each new suite as a command and as a listing, policies as
// commands and listings, bundles, and each kind of error) and FuzzParse's, added here.
// ParseConfig must not panic; an error must be an *Error on a line of the input; states and
// policies must be valid, each bound template must name a state of its protocol and mode,
// each bundle an ESP state and an AH state that are in no other bundle; FormatConfig →
// ParseConfig must give the same Config back; and where Parse reads the input, it must read
// the same states.
func FuzzParseConfig(f *testing.F) {
	old, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range old {
		data, err := readSeed(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz", bytes.NewReader(data))
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
		for i := range c.States {
			s := &c.States[i]
			if s.File != "fuzz" || s.Line <= prev {
				t.Fatalf("state %d at %s:%d after line %d", i, s.File, s.Line, prev)
			}
			prev = s.Line
			if field, msg := check(s); msg != "" {
				t.Fatalf("state %d: field %s: %s", i, field, msg)
			}
		}
		for i := range c.Policies {
			p := &c.Policies[i]
			if field, msg := checkPolicy(p); msg != "" || p.File != "fuzz" || p.Line < 1 {
				t.Fatalf("policy %d at %s:%d: field %s: %s", i, p.File, p.Line, field, msg)
			}
			for j, tm := range p.Tmpls {
				if tm.State == -1 {
					if !tm.Optional && p.Action != Block {
						t.Fatalf("policy %d: required template %d without a state", i, j)
					}
					continue
				}
				if tm.State < 0 || tm.State >= len(c.States) || c.States[tm.State].Proto != tm.Proto || c.States[tm.State].Mode != tm.Mode {
					t.Fatalf("policy %d: template %d %+v names state %d", i, j, tm, tm.State)
				}
			}
		}
		inBundle := map[int]bool{}
		for _, b := range c.Bundles {
			if b.ESP < 0 || b.ESP >= len(c.States) || b.AH < 0 || b.AH >= len(c.States) ||
				c.States[b.ESP].Proto != ESP || c.States[b.AH].Proto != AH || inBundle[b.ESP] || inBundle[b.AH] ||
				b.Policy < 0 || b.Policy >= len(c.Policies) {
				t.Fatalf("bundle %+v of %d states", b, len(c.States))
			}
			inBundle[b.ESP], inBundle[b.AH] = true, true
		}

		var b strings.Builder
		if err := FormatConfig(&b, c); err != nil {
			t.Fatalf("FormatConfig: %v", err)
		}
		back, err := ParseConfig("formatted", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("ParseConfig(FormatConfig(c)): %v\n%s", err, b.String())
		}
		equalStates(t, withoutPlace(back.States), withoutPlace(c.States))
		if !reflect.DeepEqual(policiesWithoutPlace(back.Policies), policiesWithoutPlace(c.Policies)) || !reflect.DeepEqual(back.Bundles, c.Bundles) {
			t.Fatalf("round trip:\n got %+v %+v\nwant %+v %+v\n%s", back.Policies, back.Bundles, c.Policies, c.Bundles, b.String())
		}
		if err := WriteWiresharkKeys(&b, c.States); err != nil {
			t.Fatalf("WriteWiresharkKeys: %v", err)
		}
		if states, err := Parse("fuzz", bytes.NewReader(data)); err == nil {
			equalStates(t, c.States, states)
		}
	})
}

// TestFuzzConfigSeeds keeps FuzzParseConfig's corpus meaningful: the err_ seeds fail, the
// others parse to the states, policies and bundles they hold.
func TestFuzzConfigSeeds(t *testing.T) {
	type counts struct{ states, policies, bundles int }
	bad := counts{-1, -1, -1}
	want := map[string]counts{
		"suites_demo": {9, 2, 1}, "cmd_cbc_sha1": {1, 0, 0}, "cmd_cbc256_sha256_esn_encap": {1, 0, 0},
		"cmd_null_short_names": {2, 0, 0}, "listing_null_sha256": {1, 0, 0}, "listing_s_cbc": {1, 0, 0},
		"cmd_ah_sha1": {1, 0, 0}, "listing_ah_sha256": {1, 0, 0},
		"policy_cmd_tunnel": {1, 1, 0}, "policy_listing": {2, 3, 0}, "policy_listing_s": {1, 1, 0},
		"policy_bundle": {2, 2, 1}, "policy_tunnel_bundle_bypass": {2, 3, 1},
		"err_ah_before_esp": bad, "err_no_state": bad, "err_sha256_96": bad, "err_des_md5": bad,
		"err_sel_disagrees": bad, "err_aead_with_enc_ah_encap": bad,
	}
	entries, err := os.ReadDir("testdata/fuzz/FuzzParseConfig")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d seeds, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		data, err := readSeed(filepath.Join("testdata/fuzz/FuzzParseConfig", e.Name()))
		if err != nil {
			t.Error(err)
			continue
		}
		c, err := ParseConfig(e.Name(), bytes.NewReader(data))
		w, known := want[e.Name()]
		switch {
		case !known:
			t.Errorf("%s: unexpected seed", e.Name())
		case w == bad && err == nil:
			t.Errorf("%s: parsed, want an error", e.Name())
		case w != bad && err != nil:
			t.Errorf("%s: %v", e.Name(), err)
		case w != bad && (counts{len(c.States), len(c.Policies), len(c.Bundles)}) != w:
			t.Errorf("%s: %d states, %d policies, %d bundles; want %+v", e.Name(), len(c.States), len(c.Policies), len(c.Bundles), w)
		}
	}
}
