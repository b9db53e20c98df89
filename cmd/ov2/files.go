package main

import (
	"fmt"
	"io"

	"github.com/ov2dev/ov2/internal/outfile"
)

// writeOutput writes one of a command's output files (a CSV, a chart, a key file) the way
// package outfile treats every output: a regular file through a temporary file and a
// rename, so that a failed run leaves no half-written file behind and an existing file is
// replaced only by a complete one; a symlink's target replaced, the link kept; a device or
// FIFO written in place, never replaced.
func writeOutput(path string, write func(io.Writer) error) error {
	f, err := outfile.Open(path, nil)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return fmt.Errorf("%s: write: %w", path, outfile.Cause(err))
	}
	return f.Commit()
}
