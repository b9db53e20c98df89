package pcap

import (
	"errors"
	"os"
	"runtime"

	"github.com/ov2dev/ov2/internal/outfile"
)

// createOutput is CreateOutput; dash says whether "-" means standard output.
func createOutput(path string, first LinkType, o Options, dash bool) (*Writer, error) {
	if path == "" {
		return nil, errors.New("output path is empty")
	}
	w, err := newWriter(path, first, o)
	if err != nil {
		return nil, err
	}
	if dash && path == "-" {
		if fi, err := os.Stdout.Stat(); err == nil {
			if err := outfile.RefuseInput(path, fi, o.Refuse); err != nil {
				return nil, err
			}
		}
		w.kind = outStream
		w.start(os.Stdout)
		return w, nil
	}

	of, err := outfile.Open(path, o.Refuse)
	if err != nil {
		return nil, err
	}
	w.out, w.f = of, of.File
	w.kind = outInPlace
	if !of.InPlace() {
		w.kind = outTemp
		w.cleanup = runtime.AddCleanup(w, removeTemp, of.Temp)
	}
	w.start(of.File)
	return w, nil
}
