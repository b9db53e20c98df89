package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A capture that is not a regular file can be read only once: a FIFO (mkfifo) or a pipe
// such as bash's <(...), which the program sees as /dev/fd/N. The run reads it through
// the reader that checked its first record. Before, the run opened the input a second time:
// from a FIFO that waited for ever for another writer, and from /dev/fd/N it read on from
// where the check had stopped ("not a pcap or pcapng file (magic 0x11121314)").
func TestReplayFromFIFOAndPipe(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("..", "..", "replay", "testdata", "suites.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	sa := filepath.Join("..", "..", "xfrm", "testdata", "suites.sa")
	// 450 records, 392 of them for an SA: a round trip of two loops checks 784.
	const want = "round trip: OK (784/784 packets decrypted and equal to the input, 0 differ)"
	run := func(t *testing.T, path string, feed func() error) {
		fed := make(chan error, 1)
		go func() { fed <- feed() }()
		type result struct {
			code     int
			out, err string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errOut := runCmd("replay", "--sa", sa, "--roundtrip", "--loop", "2", path)
			done <- result{code, out, errOut}
		}()
		select {
		case r := <-done:
			if r.code != 0 || !strings.Contains(r.out, want) || !strings.Contains(r.out, "read:                900 packets") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("ov2 replay still running after 60 s: it waits on its input")
		}
		if err := <-fed; err != nil {
			t.Fatal(err)
		}
	}
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "in.pcap")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		run(t, fifo, func() error { return os.WriteFile(fifo, capture, 0o600) })
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		run(t, fmt.Sprintf("/dev/fd/%d", r.Fd()), func() error { return writeClose(w, capture) })
	})
	// "-" is standard input, as for --out "-" standard output (tcpdump -w - | ov2 replay -).
	// Before, the run tried to open a file named "-".
	t.Run("stdin", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		saved := os.Stdin
		os.Stdin = r
		defer func() { os.Stdin = saved }()
		run(t, "-", func() error { return writeClose(w, capture) })
	})
}

// Standard output that is /dev/null (a character device, not a terminal) takes --out -:
// before, `ov2 replay --out - > /dev/null` was refused as "standard output is a terminal".
// And "-" as the input when standard input is /dev/null reads an empty capture.
func TestReplayDevNullIsNoTerminal(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	// The capture goes to the process's standard output (pcap.CreateOutput's "-"), the
	// report to the stderr given: both must be /dev/null and a buffer here.
	savedOut := os.Stdout
	os.Stdout = devnull
	defer func() { os.Stdout = savedOut }()
	var stderr bytes.Buffer
	if code := run([]string{"replay", "--loop", "1", "--out", "-"}, devnull, &stderr); code != 0 ||
		!strings.Contains(stderr.String(), "round trip: OK (436/436 packets") {
		t.Errorf("ov2 replay --out - > /dev/null: exit %d, stderr:\n%s", code, stderr.String())
	}
	saved := os.Stdin
	os.Stdin = devnull
	defer func() { os.Stdin = saved }()
	if code, _, errOut := runCmd("replay", "-"); code != 1 || errOut != "ov2: standard input: empty file\n" {
		t.Errorf("ov2 replay - < /dev/null: exit %d, stderr %q; want 1 and an empty file", code, errOut)
	}
}

// writeClose writes b to w and closes it: the writer's side of a pipe, whose reader sees
// the end of the capture when it is closed.
func writeClose(w *os.File, b []byte) error {
	_, err := w.Write(b)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
