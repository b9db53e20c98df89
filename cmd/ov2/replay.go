package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
)

func replay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ov2 replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "NIC keyword file (default: built-in defaults)")
	packets := fs.Int("packets", 200000, "packets in the built-in round trip")
	lanes := fs.Int("lanes", runtime.NumCPU(), "worker lanes in each direction")
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
	if *lanes < 1 || *lanes > 256 {
		fmt.Fprintf(stderr, "ov2 replay: --lanes %d: want 1 to 256\n", *lanes)
		return errUsage
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	rep, err := roundTrip(cfg, *packets, *lanes)
	if err != nil {
		return err
	}
	rep.print(stdout)
	if !rep.ok() {
		return fmt.Errorf("round trip failed: %d packets differ, %d not delivered", rep.mismatched, rep.other)
	}
	return nil
}
