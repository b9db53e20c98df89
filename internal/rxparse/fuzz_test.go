package rxparse

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// updateCorpus rewrites the seed corpus of FuzzParse from the packet tables:
//
//	go test ./internal/rxparse/ -run TestSeedCorpus -update-corpus
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzParse/seed-* from the packet tables")

// corpusDir is where go test reads FuzzParse's seed corpus from, and where -fuzz adds the
// inputs that fail.
var corpusDir = filepath.Join("testdata", "fuzz", "FuzzParse")

// seedPrefix marks the corpus files generated from the tables, so that inputs go test -fuzz
// records (named by their hash) are left alone by the staleness check.
const seedPrefix = "seed-"

// corpusFile is a frame in Go's fuzz corpus file format: a version line, then one value per
// line, written the way go test writes a []byte.
func corpusFile(frame []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", frame)
}

// seedFiles are the corpus files the tables say should exist, by file name.
func seedFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for _, c := range append(goodCases(t), badCases(t)...) {
		name := seedPrefix + c.name
		if _, dup := files[name]; dup {
			t.Fatalf("two cases named %q", c.name)
		}
		files[name] = corpusFile(c.frame)
	}
	return files
}

// TestSeedCorpus fails when testdata/fuzz/FuzzParse/seed-* differs from what the packet
// tables generate (a case added, changed or removed without -update-corpus), so the fuzzer
// always starts from the real packets the tables describe.
func TestSeedCorpus(t *testing.T) {
	want := seedFiles(t)
	if *updateCorpus {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(corpusDir, seedPrefix+"*"))
		for _, p := range old {
			if _, keep := want[filepath.Base(p)]; !keep {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(corpusDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var stale []string
	have, _ := filepath.Glob(filepath.Join(corpusDir, seedPrefix+"*"))
	for _, p := range have {
		if _, ok := want[filepath.Base(p)]; !ok {
			stale = append(stale, filepath.Base(p)+" (no such case)")
		}
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(corpusDir, name))
		switch {
		case err != nil:
			stale = append(stale, name+" (missing)")
		case !bytes.Equal(got, b):
			stale = append(stale, name+" (differs)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Fatalf("seed corpus is stale; run go test ./internal/rxparse/ -run TestSeedCorpus -update-corpus:\n  %s",
			strings.Join(stale, "\n  "))
	}
}

// FuzzParse: whatever the bytes, Parse does not panic and its Layout keeps the invariants the
// later stages index the frame by (see invariants). It also checks that the answer depends
// only on the IP packet: cutting the frame at End, or adding link padding after it, changes
// nothing. The seeds are the real packets of the tables, in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte) {
		l := Parse(frame)
		if msg := invariants(frame, l); msg != "" {
			t.Fatalf("Parse(%x): %s", frame, msg)
		}
		if l.Kind == KindMalformed {
			return
		}
		if got := Parse(frame[:l.End]); got != l {
			t.Fatalf("Parse(%x) = %+v, but cut at End %d: %+v", frame, l, l.End, got)
		}
		padded := append(frame[:len(frame):len(frame)], 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff)
		if got := Parse(padded); got != l {
			t.Fatalf("Parse(%x) = %+v, but with padding: %+v", frame, l, got)
		}
	})
}
