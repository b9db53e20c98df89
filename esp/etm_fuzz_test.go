package esp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// etmFuzzTransforms are the AES-CBC / NULL SAs FuzzOpenETM opens with (the first argument
// picks one, modulo the count): every suite of etmSuites, the odd ones with ESN, keyed from
// fixed bytes so that the kept seed corpus holds packets that verify.
func etmFuzzTransforms(t testing.TB) []*Transform {
	var out []*Transform
	for i, su := range etmSuites {
		tr, _ := mustETM(t, su, i%2 == 1, byte(0x10*i))
		out = append(out, tr)
	}
	return out
}

// etmFuzzSeeds seals one packet per SA: payload lengths around the block size, a tunnel-sized
// one, and an empty one.
func etmFuzzSeeds(t testing.TB) (pkts [][]byte, which []uint8) {
	for i, tr := range etmFuzzTransforms(t) {
		// Seal draws a random IV, so seed files made from it would differ on every run: the
		// kept seeds use the IV the reference construction gets from fill instead.
		_, r := mustETM(t, etmSuites[i], i%2 == 1, byte(0x10*i))
		for _, n := range []int{0, 13, 14, 15, 16, 17, 60} {
			p := r.refSeal(0x200+uint32(i), uint32(n), uint32(i), fill(r.ivLen(), byte(n)), fill(n, byte(i)), 4, nil)
			if _, err := tr.Open(new(Scratch), bytes.Clone(p), uint32(i)); err != nil {
				t.Fatalf("seed %d/%d does not open: %v", i, n, err)
			}
			pkts = append(pkts, p)
			which = append(which, uint8(i))
		}
	}
	return pkts, which
}

// FuzzOpenETM feeds arbitrary bytes to Open with the AES-CBC and NULL SAs. It must not panic;
// a failure must be ErrShort, ErrBlockAlign or ErrAuth with the bytes exactly as they were
// (R-RX-5); a success must be a packet the independent construction accepts, opened to the
// same bytes, with the default padding.
func FuzzOpenETM(f *testing.F) {
	trs := etmFuzzTransforms(f)
	pkts, which := etmFuzzSeeds(f)
	for i, p := range pkts {
		f.Add(which[i], uint32(which[i]), p)
	}
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, pkt []byte) {
		i := int(which) % len(trs)
		tr := trs[i]
		_, r := mustETM(t, etmSuites[i], i%2 == 1, byte(0x10*i))
		orig := bytes.Clone(pkt)
		plain, err := tr.Open(new(Scratch), pkt, seqHi)
		if err != nil {
			if err != ErrShort && err != ErrBlockAlign && err != ErrAuth {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(pkt, orig) {
				t.Fatalf("Open failed with %v and changed the packet", err)
			}
			return
		}
		want, ok := r.refOpen(orig, seqHi)
		if !ok || !bytes.Equal(plain, want) {
			t.Fatalf("Open accepted what the reference rejects (%v) or decrypted differently", ok)
		}
		if _, _, _, err := ParseTrailer(plain); err != nil {
			t.Fatalf("Open accepted a bad trailer: %v", err)
		}
	})
}

// TestWriteETMFuzzSeeds keeps testdata/fuzz/FuzzOpenETM in step with etmFuzzSeeds: it
// rewrites the files when OV2_WRITE_FUZZ_SEEDS=1 and otherwise checks them.
func TestWriteETMFuzzSeeds(t *testing.T) {
	pkts, which := etmFuzzSeeds(t)
	write := os.Getenv("OV2_WRITE_FUZZ_SEEDS") == "1"
	for i, p := range pkts {
		path := filepath.Join("testdata", "fuzz", "FuzzOpenETM", fmt.Sprintf("seed-%02d", i))
		body := fmt.Sprintf("go test fuzz v1\nbyte(%q)\nuint32(%d)\n[]byte(%q)\n", which[i], which[i], p)
		if write {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != body {
			t.Errorf("%s is missing or stale (%v); regenerate with OV2_WRITE_FUZZ_SEEDS=1 go test -run TestWriteETMFuzzSeeds ./esp", path, err)
		}
	}
}
