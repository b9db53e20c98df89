// Package outfile opens the files ov2's commands write (captures, CSV, charts, key files)
// the one way every output is treated:
//
//   - a regular file, or a path where nothing is yet: a temporary file is written beside
//     the destination (".<base>.tmp-<random>") and Commit renames it onto it, so that a
//     failed or interrupted run never leaves a half-written file there and an existing
//     file is replaced only by a complete one (keeping its permissions). A symlink is
//     followed to the file at the end of its chain, which is what gets replaced: the
//     symlink stays a symlink.
//   - an existing file that is not regular (a character device such as /dev/null, a FIFO,
//     a socket), at the path or behind a symlink: opened and written in place, never
//     replaced (renaming a file onto /dev/null would replace the device for everyone).
//   - a regular file that is one of the command's inputs: refused.
//
// Errors name the user's path, never the temporary file.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSymlinks bounds a chain of symlinks, as the kernel's MAXSYMLINKS does.
const maxSymlinks = 40

// File is an output being written: File is the file to write (the temporary one, or the
// device or FIFO itself), until Commit or Abort.
type File struct {
	*os.File
	Path   string // the user's path, for messages
	Target string // the file Commit renames the temporary file onto (symlinks resolved); "" in place
	Temp   string // the temporary file; "" in place
}

// InPlace says the output is a non-regular file written where it is.
func (f *File) InPlace() bool { return f.Temp == "" }

// Open opens path for writing as the package says. refuse lists the command's inputs ("-"
// is standard input; a path that does not exist is ignored).
func Open(path string, refuse []string) (*File, error) {
	if path == "" {
		return nil, errors.New("output path is empty")
	}
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s: is a directory", path)
		}
		if err := RefuseInput(path, fi, refuse); err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			// O_TRUNC would be ignored by a device and means nothing to a FIFO; opening a
			// FIFO waits for a reader.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: open: %w", path, Cause(err))
			}
			return &File{File: f, Path: path}, nil
		}
	}
	target := path
	if li, err := os.Lstat(path); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		if target, err = ResolveSymlinks(path); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("%s: cannot write to directory %s: %w", path, dir, Cause(err))
	}
	return &File{File: f, Path: path, Target: target, Temp: f.Name()}, nil
}

// Commit finishes the output: in place it closes the file; otherwise it gives the
// temporary file the destination's permissions (0644 for a new file), syncs, closes and
// renames it onto the destination, then syncs the directory (best effort). An error names
// the path and the step: "out.csv: fsync: no space left on device"; the temporary file is
// then removed.
func (f *File) Commit() error {
	steps := []step{{"close", f.Close}}
	if !f.InPlace() {
		mode := fs.FileMode(0o644)
		if fi, err := os.Stat(f.Target); err == nil && fi.Mode().IsRegular() {
			mode = fi.Mode().Perm()
		}
		steps = []step{
			{"chmod", func() error { return f.Chmod(mode) }},
			{"fsync", f.Sync},
			{"close", f.Close},
			{"rename", func() error { return os.Rename(f.Temp, f.Target) }},
		}
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			f.Abort()
			return fmt.Errorf("%s: %s: %w", f.Path, s.what, Cause(err))
		}
	}
	if !f.InPlace() {
		if d, err := os.Open(filepath.Dir(f.Target)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// step is one step of Commit, named in its error.
type step struct {
	what string
	do   func() error
}

// Abort closes the file and removes the temporary file, returning the first error; what
// already reached a device or FIFO cannot be taken back.
func (f *File) Abort() error {
	err := f.Close()
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	if !f.InPlace() {
		if rerr := os.Remove(f.Temp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}
	return err
}

// RefuseInput fails when out, a regular file at path, is the same file as one of inputs
// ("-" being standard input).
func RefuseInput(path string, out fs.FileInfo, inputs []string) error {
	if !out.Mode().IsRegular() {
		return nil // writing a device or a FIFO destroys nothing
	}
	for _, in := range inputs {
		var fi fs.FileInfo
		var err error
		switch in {
		case "":
			continue
		case "-":
			fi, err = os.Stdin.Stat()
		default:
			fi, err = os.Stat(in)
		}
		if err == nil && os.SameFile(out, fi) {
			if in == "-" {
				return fmt.Errorf("%s: refusing to overwrite the input (standard input, the same file)", path)
			}
			return fmt.Errorf("%s: refusing to overwrite the input %s (the same file)", path, in)
		}
	}
	return nil
}

// ResolveSymlinks follows path, a symlink, to the file at the end of the chain, which need
// not exist. The directories on the way are resolved with filepath.EvalSymlinks, and a
// relative link target is taken from the directory of the link that holds it (without
// cleaning "..", which must be resolved through the directories as the kernel does).
func ResolveSymlinks(path string) (string, error) {
	p := path
	for range maxSymlinks {
		dir, base := ".", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, base = p[:i], p[i+1:]
			if dir == "" {
				dir = "/"
			}
		}
		rdir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", Cause(err)
		}
		q := filepath.Join(rdir, base)
		fi, err := os.Lstat(q)
		if errors.Is(err, fs.ErrNotExist) {
			return q, nil // a dangling link: Commit creates its target
		}
		if err != nil {
			return "", Cause(err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return q, nil
		}
		t, err := os.Readlink(q)
		if err != nil {
			return "", Cause(err)
		}
		if !filepath.IsAbs(t) {
			t = rdir + "/" + t
		}
		p = t
	}
	return "", syscall.ELOOP
}

// Cause strips the *fs.PathError or *os.LinkError around a system call's error: their
// paths would be the temporary file's, and messages name the user's path instead.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
