package outfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path string, refuse []string, data string) error {
	t.Helper()
	f, err := Open(path, refuse)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	return f.Commit()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemp fails if a temporary file is left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// A new file, an existing file (its mode kept), a symlink (kept, its target replaced): each
// gets exactly the bytes written, and nothing is at the destination before Commit.
func TestRegularAndSymlink(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	f, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("a\n")
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) || f.InPlace() || f.Target != p {
		t.Fatalf("before Commit: stat %v, in place %v, target %q", err, f.InPlace(), f.Target)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, fi := read(t, p), must(os.Stat(p)); got != "a\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("new file %q mode %v", got, fi.Mode().Perm())
	}
	os.Chmod(p, 0o600)
	if err := write(t, p, nil, "b\n"); err != nil {
		t.Fatal(err)
	}
	if got, fi := read(t, p), must(os.Stat(p)); got != "b\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file %q mode %v, want b and 0600", got, fi.Mode().Perm())
	}
	// A chain of two relative links, the last one dangling: its target is created.
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("sub/link2", filepath.Join(dir, "link1"))
	os.Symlink("real.csv", filepath.Join(dir, "sub", "link2"))
	if err := write(t, filepath.Join(dir, "link1"), nil, "c\n"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"link1", "sub/link2"} {
		if li := must(os.Lstat(filepath.Join(dir, l))); li.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", l)
		}
	}
	if got := read(t, filepath.Join(dir, "sub", "real.csv")); got != "c\n" {
		t.Errorf("link target holds %q", got)
	}
	noTemp(t, dir)
	noTemp(t, filepath.Join(dir, "sub"))
}

func must(fi fs.FileInfo, err error) fs.FileInfo {
	if err != nil {
		panic(err)
	}
	return fi
}

// A FIFO is written in place and stays a FIFO (renaming onto it, as onto /dev/null, would
// replace it for everyone).
func TestFIFOInPlace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(p)
		got <- string(b)
	}()
	f, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !f.InPlace() || f.Temp != "" {
		t.Fatalf("FIFO not in place: %+v", f)
	}
	f.WriteString("through the pipe\n")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe\n" {
		t.Errorf("reader got %q", s)
	}
	if fi := must(os.Lstat(p)); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("%s is %v after the write, want a FIFO", p, fi.Mode())
	}
	noTemp(t, dir)
}

func TestErrorsAndAbort(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	os.WriteFile(in, []byte("input"), 0o644)
	os.Symlink("in.pcap", filepath.Join(dir, "alias"))
	for _, tc := range []struct{ path, want string }{
		{"", "output path is empty"},
		{dir, dir + ": is a directory"},
		{dir + "/x/", dir + "/x/: is a directory"},
		{in, in + ": refusing to overwrite the input " + in + " (the same file)"},
		{filepath.Join(dir, "alias"), filepath.Join(dir, "alias") + ": refusing to overwrite the input " + in + " (the same file)"},
		{filepath.Join(dir, "missing", "x"), filepath.Join(dir, "missing", "x") + ": cannot write to directory " + filepath.Join(dir, "missing") + ": no such file or directory"},
	} {
		if _, err := Open(tc.path, []string{"", in}); err == nil || err.Error() != tc.want {
			t.Errorf("Open(%q): %v, want %q", tc.path, err, tc.want)
		}
	}
	if read(t, in) != "input" {
		t.Error("the input changed")
	}
	// Abort leaves nothing: no destination, no temporary file; an existing file is kept.
	p := filepath.Join(dir, "out")
	f, _ := Open(p, nil)
	f.WriteString("partial")
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Abort: %v", err)
	}
	f, _ = Open(in, nil)
	f.WriteString("partial")
	f.Abort()
	if read(t, in) != "input" {
		t.Error("Abort changed the existing file")
	}
	noTemp(t, dir)
}
