package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

func replay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ov2 replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "NIC keyword file (default: built-in defaults)")
	packets := fs.Int("packets", 200000, "packets in the built-in round trip")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ov2 replay: reading %s: pcap input is not available yet; run without an input for the built-in round trip\n", fs.Arg(0))
		return errUsage
	}
	if *packets < 1 {
		fmt.Fprintf(stderr, "ov2 replay: --packets %d: want at least 1\n", *packets)
		return errUsage
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := roundTrip(cfg, *packets)
	if err != nil {
		return err
	}
	rep.elapsed = time.Since(start)
	rep.print(stdout)
	if rep.mismatched != 0 || rep.failed != 0 {
		return fmt.Errorf("round trip failed: %d packets differ, %d failed to open", rep.mismatched, rep.failed)
	}
	return nil
}
