package pcap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// maxSymlinks bounds a chain of symlinks, as the kernel's MAXSYMLINKS does.
const maxSymlinks = 40

// createOutput is CreateOutput; dash says whether "-" means standard output.
func createOutput(path string, first LinkType, o Options, dash bool) (*Writer, error) {
	if path == "" {
		return nil, errors.New("output path is empty")
	}
	w, err := newWriter(path, first, o)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if dash && path == "-" {
		if fi, err := os.Stdout.Stat(); err == nil {
			if err := refuseInput(path, fi, o.Refuse); err != nil {
				return nil, err
			}
		}
		w.kind = outStream
		w.start(os.Stdout)
		return w, nil
	}

	// What is at the path, symlinks followed.
	fi, statErr := os.Stat(path)
	if statErr == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s: is a directory", path)
		}
		if err := refuseInput(path, fi, o.Refuse); err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			// A device, a FIFO, a socket: write it in place. O_TRUNC would be ignored by a
			// device and means nothing to a FIFO; opening a FIFO waits for a reader.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: open: %w", path, cause(err))
			}
			w.kind = outInPlace
			w.f = f
			w.start(f)
			return w, nil
		}
	}

	// A regular file, or nothing yet: a temporary file beside the file the path ends at.
	target := path
	if li, err := os.Lstat(path); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		if target, err = resolveSymlinks(path); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("%s: cannot write to directory %s: %w", path, dir, cause(err))
	}
	w.kind = outTemp
	w.target = target
	w.tmp = f.Name()
	w.f = f
	w.start(f)
	w.cleanup = runtime.AddCleanup(w, removeTemp, w.tmp)
	return w, nil
}

// refuseInput fails when out, a regular file, is the same file as one of inputs ("-" being
// standard input).
func refuseInput(path string, out fs.FileInfo, inputs []string) error {
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

// resolveSymlinks follows path, a symlink, to the file at the end of the chain, which need
// not exist. The directories on the way are resolved with filepath.EvalSymlinks, and a
// relative link target is taken from the directory of the link that holds it (without
// cleaning "..", which must be resolved through the directories as the kernel does).
func resolveSymlinks(path string) (string, error) {
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
			return "", cause(err)
		}
		q := filepath.Join(rdir, base)
		fi, err := os.Lstat(q)
		if errors.Is(err, fs.ErrNotExist) {
			return q, nil // a dangling link: Commit creates its target
		}
		if err != nil {
			return "", cause(err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return q, nil
		}
		t, err := os.Readlink(q)
		if err != nil {
			return "", cause(err)
		}
		if !filepath.IsAbs(t) {
			t = rdir + "/" + t
		}
		p = t
	}
	return "", syscall.ELOOP
}
