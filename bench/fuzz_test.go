package bench

import (
	"strings"
	"testing"
)

// FuzzParseFlags feeds one string to every parser of ov2 bench's flag values (sizes, modes,
// algorithms, lane counts, placements, load). None may panic; an error must say something;
// and what a parser accepts must be what it says it accepts: every size, mode and algorithm
// read prints back to a name that reads the same, lane counts are 1 to MaxLanes, a load is
// more than 0 and at most 1, and a list has one entry per comma-separated field, none twice.
// The seeds are in testdata/fuzz/FuzzParseFlags and below.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"64,1400,imix,lso64k", "1400B", " 2048 ", "65", "64,64", "encrypt,decrypt,roundtrip",
		"aes128gcm,ah-sha256", "AES256GCM", "1, 2,4", "0", "both", "50%", "0.5", "100%", "NaN", "1e-300", ",", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fields := len(strings.Split(s, ","))
		if sizes, err := ParseSizes(s); err != nil {
			nonEmpty(t, "ParseSizes", s, err)
		} else {
			if len(sizes) != fields {
				t.Fatalf("ParseSizes(%q): %d sizes from %d fields", s, len(sizes), fields)
			}
			for i, z := range sizes {
				if back, err := ParseSize(z.String()); err != nil || back != z {
					t.Fatalf("ParseSizes(%q)[%d] = %v prints as %q, which reads as %v, %v", s, i, z, z.String(), back, err)
				}
				if z.Kind == Fixed && (z.Bytes < MinSize || z.Bytes > MaxSize || z.Bytes%4 != 0) {
					t.Fatalf("ParseSizes(%q) accepted %d bytes", s, z.Bytes)
				}
				for _, o := range sizes[:i] {
					if o == z {
						t.Fatalf("ParseSizes(%q) accepted %v twice", s, z)
					}
				}
			}
		}
		modes, err := ParseModes(s)
		readsBack(t, "ParseModes", s, fields, modes, err, func(m Mode) (Mode, error) { return ParseMode(m.String()) })
		algos, err := ParseAlgos(s)
		readsBack(t, "ParseAlgos", s, fields, algos, err, func(a Algo) (Algo, error) { return ParseAlgo(a.String()) })
		for _, a := range algos {
			if a >= numAlgos {
				t.Fatalf("ParseAlgos(%q) accepted %v", s, a)
			}
		}
		if lanes, err := ParseLanes(s); err != nil {
			nonEmpty(t, "ParseLanes", s, err)
		} else if len(lanes) != fields {
			t.Fatalf("ParseLanes(%q): %d counts from %d fields", s, len(lanes), fields)
		} else {
			for i, n := range lanes {
				if n < 1 || n > MaxLanes {
					t.Fatalf("ParseLanes(%q) accepted %d lanes", s, n)
				}
				for _, o := range lanes[:i] {
					if o == n {
						t.Fatalf("ParseLanes(%q) accepted %d twice", s, n)
					}
				}
			}
		}
		if pl, err := ParsePlacements(s); err != nil {
			nonEmpty(t, "ParsePlacements", s, err)
		} else if len(pl) != 1 && len(pl) != 2 {
			t.Fatalf("ParsePlacements(%q) = %v", s, pl)
		}
		if load, err := ParseLoad(s); err != nil {
			nonEmpty(t, "ParseLoad", s, err)
		} else if !(load > 0 && load <= 1) {
			t.Fatalf("ParseLoad(%q) = %v, outside (0, 1]", s, load)
		}
	})
}

// readsBack checks a list parser's result: on an error, that it says something; otherwise
// one item per field, each of which prints back (back) to itself.
func readsBack[T comparable](t *testing.T, parser, s string, fields int, items []T, err error, back func(T) (T, error)) {
	t.Helper()
	if err != nil {
		nonEmpty(t, parser, s, err)
		return
	}
	if len(items) != fields {
		t.Fatalf("%s(%q): %d items from %d fields", parser, s, len(items), fields)
	}
	for _, x := range items {
		if y, err := back(x); err != nil || y != x {
			t.Fatalf("%s(%q): %v does not read back: %v, %v", parser, s, x, y, err)
		}
	}
}

// nonEmpty fails the test when a parser's error says nothing.
func nonEmpty(t *testing.T, parser, s string, err error) {
	t.Helper()
	if err.Error() == "" {
		t.Fatalf("%s(%q): an empty error", parser, s)
	}
}
