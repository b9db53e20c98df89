package replay

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ov2dev/ov2/nic"
)

// FuzzReplay plays any capture bytes through the whole engine with the demo SAs: the
// reader, the link layers, the classifier, both paths and the host. Whatever the input, the
// run ends without a panic, and either reports an error or balances its books: every
// packet read was encrypted, sent in clear, decrypted, passed through or dropped with a
// reason, and every frame out was counted.
func FuzzReplay(f *testing.F) {
	_, sas, err := Demo()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(SampleCapture[:24+16+int(SampleCapture[24+8])]) // the header and one frame
	f.Fuzz(func(t *testing.T, capture []byte) {
		rec := &recorder{}
		rep, err := Run(context.Background(), BytesInput("fuzz", capture),
			Config{SAs: sas.States, Bundles: sas.Bundles, NIC: nic.DefaultConfig(), Lanes: 1, Output: rec})
		if err != nil {
			if rep != nil {
				t.Fatal("a report with an error")
			}
			return
		}
		if !rep.Balanced {
			t.Fatalf("books do not balance: %+v", rep)
		}
		if rep.Out.Packets != uint64(len(rec.frames)) {
			t.Fatalf("report says %d frames out, output got %d", rep.Out.Packets, len(rec.frames))
		}
		if rep.Out.Packets > rep.Read.Packets {
			t.Fatalf("%d out for %d read", rep.Out.Packets, rep.Read.Packets)
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpus of FuzzReplay from the sample capture and
// from captures the tests make (run with -update).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzReplay")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReplay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	frames := readAll(t, SampleCapture)
	in, cfg := demoConfig(t)
	enc := &recorder{}
	cfg.Output, cfg.Lanes = enc, 1
	if _, err := Run(context.Background(), in, cfg); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"plain-first-12":   pcapOf(t, frames[:12]),
		"plain-arp":        pcapOf(t, frames[49:50]),
		"esp-first-12":     pcapOf(t, enc.frames[:12]),
		"esp-mixed-40":     pcapOf(t, enc.frames[100:140]),
		"truncated-record": pcapOf(t, frames[:3])[:24+16+40],
		"header-only":      pcapOf(t, nil),
	}
	corrupt := bytes.Clone(pcapOf(t, enc.frames[:6]))
	for i := 60; i < len(corrupt); i += 97 {
		corrupt[i] ^= 0x5a
	}
	seeds["esp-corrupted"] = corrupt
	for name, data := range seeds {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
