//go:build linux

package pcap

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/testenv"
)

func needRoot(t *testing.T, why string) { testenv.NeedRoot(t, why) }

func mountTmpfs(t *testing.T, flags uintptr, opts string) string {
	return testenv.MountTmpfs(t, flags, opts)
}

// noTmp fails when an error mentions a temporary file.
func noTmp(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), ".tmp") {
		t.Errorf("error names the temporary file: %v", err)
	}
}

// writeSome writes n Ethernet packets and returns the first error.
func writeSome(t *testing.T, w *Writer, n int) error {
	t.Helper()
	frame := ether(t, ipv4UDP(t, 100))
	for range n {
		if err := w.WritePacket(t0, LinkTypeEthernet, frame, 0); err != nil {
			return err
		}
	}
	return nil
}

// parseCapture reads a whole capture from memory.
func parseCapture(t *testing.T, b []byte) []Record {
	t.Helper()
	r, err := NewReader("capture", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	return recs
}

// TestOutputCharDevice: a character device is written in place and stays a device. The
// device is a null device (1:3) made in a temporary directory, so that a regression cannot
// replace the system's /dev/null; reached directly and through a symlink.
func TestOutputCharDevice(t *testing.T) {
	null := testenv.NullDevice(t)
	dir := filepath.Dir(null)
	link := filepath.Join(dir, "to-null")
	os.Symlink("null", link)
	for _, path := range []string{null, link} {
		for _, f := range []Format{FormatPcap, FormatPcapng} {
			w, err := CreateOutput(path, LinkTypeEthernet, Options{Format: f})
			if err != nil {
				t.Fatal(err)
			}
			if err := writeSome(t, w, 20000); err != nil { // several MiB: the buffer is flushed on the way
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		fi := must(os.Lstat(null))
		if fi.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("after writing %s: %s is %v, not a character device", path, null, fi.Mode())
		}
		if fi := must(os.Lstat(link)); fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink: %v", link, fi.Mode())
		}
	}
	// Abort on a device just stops.
	w := must(CreateOutput(null, LinkTypeEthernet, Options{}))
	writeSome(t, w, 10)
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("directory: %q, want null and to-null only", names)
	}
}

// TestOutputDevNull writes the real /dev/null, which must stay a character device. As
// root a rename could replace it, so this runs only after TestOutputCharDevice has shown
// on a private node that devices are written in place.
func TestOutputDevNull(t *testing.T) {
	w, err := CreateOutput("/dev/null", LinkTypeRaw, Options{Format: FormatPcapng})
	if err != nil {
		t.Fatal(err)
	}
	if w.kind != outInPlace {
		w.Abort()
		t.Fatalf("/dev/null would not be written in place (kind %d)", w.kind)
	}
	if err := w.WritePacket(t0, LinkTypeRaw, ipv4UDP(t, 10), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi := must(os.Lstat("/dev/null")); fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is %v after a write", fi.Mode())
	}
}

// TestOutputFIFO: a FIFO gets the capture in place; the reader at the other end parses it.
func TestOutputFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		got := make(chan []byte)
		go func() {
			r, err := os.Open(fifo) // waits for the writer
			if err != nil {
				t.Error(err)
				got <- nil
				return
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Error(err)
			}
			r.Close()
			got <- b
		}()
		w, err := CreateOutput(fifo, LinkTypeEthernet, Options{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		if err := writeSome(t, w, 1000); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		recs := parseCapture(t, <-got)
		if len(recs) != 1000 || recs[999].Link != LinkTypeEthernet || len(recs[999].Data) != 142 {
			t.Errorf("%v: %d records through the FIFO", f, len(recs))
		}
		if fi := must(os.Lstat(fifo)); fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO became %v", fi.Mode())
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory: %q, want the FIFO only", names)
	}
}

// TestOutputStdout: "-" writes standard output, which Commit flushes and does not close.
// Create keeps "-" a file name.
func TestOutputStdout(t *testing.T) {
	pr, pw := must2(os.Pipe())
	defer pr.Close()
	saved := os.Stdout
	os.Stdout = pw
	w, err := CreateOutput("-", LinkTypeRaw, Options{Format: FormatPcapng})
	os.Stdout = saved
	if err != nil {
		t.Fatal(err)
	}
	if w.Path() != "-" {
		t.Errorf("Path %q", w.Path())
	}
	done := make(chan []byte)
	go func() { done <- must(io.ReadAll(pr)) }()
	if err := w.WritePacket(t0, LinkTypeRaw, ipv6UDP(t, 5), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte{}); err != nil {
		t.Errorf("standard output was closed: %v", err)
	}
	pw.Close()
	if recs := parseCapture(t, <-done); len(recs) != 1 || recs[0].Link != LinkTypeRaw {
		t.Errorf("read from the pipe: %v", recs)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	w = must(Create("-", LinkTypeRaw, 0))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "-")); err != nil || fi.Size() != 24 {
		t.Errorf("Create(\"-\") wrote %v, %v", fi, err)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// TestOutputSymlink: a symlink stays a symlink and its target gets the file, with the
// temporary file beside the target, through a chain of links and across directories; a
// dangling symlink creates its target.
func TestOutputSymlink(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.Mkdir(filepath.Join(dir, "links"), 0o755)
	real := filepath.Join(other, "real.pcap")
	os.WriteFile(real, []byte("old"), 0o600)
	os.Symlink("../other/real.pcap", filepath.Join(dir, "links", "one"))
	os.Symlink("one", filepath.Join(dir, "links", "two"))
	path := filepath.Join(dir, "links", "two")

	w := must(CreateOutput(path, LinkTypeEthernet, Options{}))
	if names := dirNames(t, other); len(names) != 2 || !strings.HasPrefix(names[0], ".real.pcap.tmp-") {
		t.Errorf("while writing, %s holds %q, want the temporary file beside real.pcap", other, names)
	}
	writeSome(t, w, 3)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"one", "two"} {
		fi := must(os.Lstat(filepath.Join(dir, "links", l)))
		if fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("links/%s became %v", l, fi.Mode())
		}
	}
	if got := must(os.Readlink(filepath.Join(dir, "links", "one"))); got != "../other/real.pcap" {
		t.Errorf("link target changed to %q", got)
	}
	if recs := parseCapture(t, must(os.ReadFile(real))); len(recs) != 3 {
		t.Errorf("target holds %d records", len(recs))
	}
	if fi := must(os.Stat(real)); fi.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v, want its former 0600", fi.Mode().Perm())
	}
	if names := dirNames(t, other); len(names) != 1 {
		t.Errorf("%s: %q", other, names)
	}

	// A dangling symlink: its target is created; Abort leaves nothing.
	dangling := filepath.Join(dir, "links", "new")
	os.Symlink("../other/new.pcapng", dangling)
	w = must(CreateOutput(dangling, LinkTypeRaw, Options{Format: FormatPcapng}))
	writeSome(t, w, 1)
	w.Abort()
	if names := dirNames(t, other); len(names) != 1 {
		t.Errorf("after Abort %s holds %q", other, names)
	}
	w = must(CreateOutput(dangling, LinkTypeRaw, Options{Format: FormatPcapng}))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi := must(os.Lstat(dangling)); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the dangling link became %v", fi.Mode())
	}
	if fi, err := os.Stat(filepath.Join(other, "new.pcapng")); err != nil || fi.Size() != ngSHBLen+ngIDBLen {
		t.Errorf("target of the dangling link: %v", err)
	}

	// A loop.
	os.Symlink("loop", filepath.Join(dir, "loop"))
	_, err := CreateOutput(filepath.Join(dir, "loop"), LinkTypeRaw, Options{})
	if want := filepath.Join(dir, "loop") + ": too many levels of symbolic links"; err == nil || err.Error() != want {
		t.Errorf("symlink loop: %v, want %s", err, want)
	}
}

// TestOutputIsInput: an output that is an input, by another path, a hard link or a
// symlink, is refused at open with both names, and the input is left alone.
func TestOutputIsInput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("sub", 0o755)
	in := "in.pcap"
	orig := rawPcap(false, true, LinkTypeRaw, 65535, []pkt{{ts: t0, data: ipv4UDP(t, 1)}})
	os.WriteFile(in, orig, 0o644)
	os.Link(in, "hard.pcap")
	os.Symlink("in.pcap", "soft.pcap")
	os.WriteFile("other.pcap", orig, 0o644)
	cases := []struct{ out, refuse, want string }{
		{"in.pcap", "in.pcap", "in.pcap: refusing to overwrite the input in.pcap (the same file)"},
		{"./sub/../in.pcap", "in.pcap", "./sub/../in.pcap: refusing to overwrite the input in.pcap (the same file)"},
		{filepath.Join(dir, "in.pcap"), "in.pcap", filepath.Join(dir, "in.pcap") + ": refusing to overwrite the input in.pcap (the same file)"},
		{"hard.pcap", "in.pcap", "hard.pcap: refusing to overwrite the input in.pcap (the same file)"},
		{"soft.pcap", "in.pcap", "soft.pcap: refusing to overwrite the input in.pcap (the same file)"},
		{"in.pcap", "soft.pcap", "in.pcap: refusing to overwrite the input soft.pcap (the same file)"},
		{"in.pcap", "sub/../hard.pcap", "in.pcap: refusing to overwrite the input sub/../hard.pcap (the same file)"},
	}
	for _, c := range cases {
		for _, f := range []Format{FormatPcap, FormatPcapng} {
			w, err := CreateOutput(c.out, LinkTypeRaw, Options{Format: f, Refuse: []string{"missing.pcap", "other.pcap", c.refuse}})
			if err == nil {
				w.Abort()
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("output %s, input %s: %v\nwant %s", c.out, c.refuse, err, c.want)
			}
		}
	}
	if got := must(os.ReadFile(in)); !bytes.Equal(got, orig) {
		t.Error("the input changed")
	}
	if names := dirNames(t, dir); len(names) != 5 {
		t.Errorf("directory: %q", names)
	}
	// Standard input and standard output.
	f := must(os.Open(in))
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	_, err := CreateOutput("hard.pcap", LinkTypeRaw, Options{Refuse: []string{"-"}})
	os.Stdin = saved
	if want := "hard.pcap: refusing to overwrite the input (standard input, the same file)"; err == nil || err.Error() != want {
		t.Errorf("stdin: %v, want %s", err, want)
	}
	out := must(os.OpenFile("soft.pcap", os.O_WRONLY|os.O_APPEND, 0))
	defer out.Close()
	saved = os.Stdout
	os.Stdout = out
	_, err = CreateOutput("-", LinkTypeRaw, Options{Refuse: []string{in}})
	os.Stdout = saved
	if want := "-: refusing to overwrite the input in.pcap (the same file)"; err == nil || err.Error() != want {
		t.Errorf("stdout: %v, want %s", err, want)
	}
	// Another file is no conflict, nor is a device that is both input and output.
	w := must(CreateOutput("new.pcap", LinkTypeRaw, Options{Refuse: []string{in, "hard.pcap"}}))
	w.Abort()
	w = must(CreateOutput("/dev/null", LinkTypeRaw, Options{Refuse: []string{"/dev/null"}}))
	w.Abort()
}

// TestOutputUnwritable: a destination whose directory does not take a new file fails at
// open, naming the path and the cause, never the temporary file.
func TestOutputUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	under := filepath.Join(file, "x.pcap")
	_, err := CreateOutput(under, LinkTypeEthernet, Options{})
	if want := under + ": cannot write to directory " + file + ": not a directory"; err == nil || err.Error() != want {
		t.Errorf("under a file: %v\nwant %s", err, want)
	}
	noTmp(t, err)
	_, err = CreateOutput(filepath.Join(dir, "missing", "x.pcap"), LinkTypeEthernet, Options{})
	if want := filepath.Join(dir, "missing", "x.pcap") + ": cannot write to directory " + filepath.Join(dir, "missing") + ": no such file or directory"; err == nil || err.Error() != want || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v\nwant %s", err, want)
	}
	_, err = CreateOutput(dir, LinkTypeEthernet, Options{})
	if err == nil || err.Error() != dir+": is a directory" {
		t.Errorf("a directory: %v", err)
	}
	_, err = CreateOutput(filepath.Join(dir, "nodir")+"/", LinkTypeEthernet, Options{})
	if err == nil || err.Error() != filepath.Join(dir, "nodir")+"/: is a directory" {
		t.Errorf("trailing slash: %v", err)
	}
	if _, err := CreateOutput("", LinkTypeEthernet, Options{}); err == nil || err.Error() != "output path is empty" {
		t.Errorf("empty path: %v", err)
	}

	if os.Geteuid() != 0 { // permissions bind everyone but root
		locked := filepath.Join(dir, "locked")
		os.Mkdir(locked, 0o500)
		path := filepath.Join(locked, "x.pcap")
		_, err := CreateOutput(path, LinkTypeEthernet, Options{})
		if want := path + ": cannot write to directory " + locked + ": permission denied"; err == nil || err.Error() != want {
			t.Errorf("directory of mode 0500: %v\nwant %s", err, want)
		}
	}

	ro := mountTmpfs(t, unix.MS_RDONLY, "size=1m")
	path := filepath.Join(ro, "out.pcapng")
	_, err = CreateOutput(path, LinkTypeEthernet, Options{Format: FormatPcapng})
	if want := path + ": cannot write to directory " + ro + ": read-only file system"; err == nil || err.Error() != want || !errors.Is(err, syscall.EROFS) {
		t.Errorf("read-only file system: %v\nwant %s", err, want)
	}
	noTmp(t, err)
}

// TestWriterDiskFull fills a 2 MiB tmpfs: the write error names the path and the cause,
// is sticky, and leaves no temporary file after Abort or Commit; Flush notices a full
// disk at once even for one small packet.
func TestWriterDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 0, "size=2m")
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		for _, end := range []string{"Abort", "Commit"} {
			path := filepath.Join(dir, "out."+f.String())
			w := must(CreateOutput(path, LinkTypeEthernet, Options{Format: f}))
			big := make([]byte, 60000)
			var err error
			for i := 0; i < 200 && err == nil; i++ { // 12 MB at most
				if err = w.WritePacket(t0, LinkTypeEthernet, big, 0); err == nil && i%10 == 9 {
					err = w.Flush()
				}
			}
			if want := path + ": write: no space left on device"; err == nil || err.Error() != want || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("%v: filling the disk: %v\nwant %s", f, err, want)
			}
			noTmp(t, err)
			if err2 := w.WritePacket(t0, LinkTypeEthernet, []byte{1}, 0); err2 != err {
				t.Errorf("next write: %v, want the same error", err2)
			}
			if err2 := w.WritePacketV(t0, LinkTypeEthernet, 0, []byte{1}); err2 != err {
				t.Errorf("next WritePacketV: %v, want the same error", err2)
			}
			if err2 := w.Flush(); err2 != err {
				t.Errorf("Flush: %v, want the same error", err2)
			}
			if end == "Abort" {
				if err2 := w.Abort(); err2 != nil {
					t.Errorf("Abort: %v", err2)
				}
				if err2 := w.Write(t0, []byte{1}); err2 != err {
					t.Errorf("write after Abort: %v, want the write error", err2)
				}
			} else if err2 := w.Commit(); err2 != err {
				t.Errorf("Commit: %v, want %v", err2, err)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Fatalf("%v, %s: left %q", f, end, names)
			}
		}
	}

	// Fill the disk, then write one small packet: the buffer takes it, Flush fails.
	fill := must(os.Create(filepath.Join(dir, "fill")))
	for err := error(nil); err == nil; {
		_, err = fill.Write(make([]byte, 64<<10))
	}
	fill.Close()
	path := filepath.Join(dir, "slow.pcap")
	w, err := CreateOutput(path, LinkTypeEthernet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSome(t, w, 1); err != nil {
		t.Fatalf("a buffered write failed: %v", err)
	}
	err = w.Flush()
	if want := path + ": write: no space left on device"; err == nil || err.Error() != want {
		t.Errorf("Flush on a full disk: %v\nwant %s", err, want)
	}
	if err2 := w.Commit(); err2 != err {
		t.Errorf("Commit: %v", err2)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("left %q", names)
	}
}

// TestWriterFlush: Flush puts the buffered records in the temporary file (not yet at the
// destination) and can be called at any time.
func TestWriterFlush(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.pcap")
	w := must(CreateOutput(path, LinkTypeEthernet, Options{}))
	defer w.Abort()
	writeSome(t, w, 2)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if fi := must(w.f.Stat()); fi.Size() != 24+2*(16+142) {
		t.Errorf("after Flush the file has %d bytes", fi.Size())
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination before Commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil || err.Error() != path+": writer already committed" {
		t.Errorf("Flush after Commit: %v", err)
	}
}
