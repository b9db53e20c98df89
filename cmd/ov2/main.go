// Command ov2 drives the ov2 engine: a software NIC with IPsec Offload Version 2.
//
//	ov2 replay [flags] [INPUT]  replay a capture through the NIC (no input: the built-in round trip)
//	ov2 gateway [flags]         a live ESP gateway between two interfaces (a bump in the wire)
//	ov2 bench [flags]           measure throughput and latency beside the raw AES-GCM limit
//	ov2 caps [--config F]       print the NIC's capabilities and current configuration
//	ov2 version                 print the version, the commit and the Go toolchain
//
// Run 'ov2 <command> --help' (or 'ov2 help <command>') for the flags of a command; the README shows
// real runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors whose message already explains the command line.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "replay":
		err = replayCmd(args[1:], stdout, stderr)
	case "gateway":
		err = gatewayCmd(args[1:], stdout, stderr)
	case "caps":
		err = capsCmd(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "ov2 version: unexpected argument %q\n", args[1])
			return 2
		}
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "help", "-h", "--help":
		switch {
		case len(args) == 1:
			fmt.Fprintln(stdout, usage)
			return 0
		case len(args) > 2:
			fmt.Fprintf(stderr, "ov2 help: one command at most, got %d\n%s\n", len(args)-1, usage)
			return 2
		}
		switch args[1] {
		case "replay", "gateway", "caps", "bench":
			return run([]string{args[1], "--help"}, stdout, stderr) // ov2 help replay = ov2 replay --help
		case "version":
			fmt.Fprintln(stdout, "usage: ov2 version\n\nPrints the version of ov2, the commit it was built from, and the Go toolchain.")
			return 0
		}
		fmt.Fprintf(stderr, "ov2 help: unknown command %q\n%s\n", args[1], usage)
		return 2
	default:
		fmt.Fprintf(stderr, "ov2: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	var st *exitStatus
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &st):
		fmt.Fprintf(stderr, "ov2: %s\n", st.why)
		return st.code
	}
	fmt.Fprintf(stderr, "ov2: %v\n", err)
	return 1
}

const usage = `usage: ov2 <command> [flags]

commands:
  replay   replay a capture through the NIC (no input: the built-in round trip)
  gateway  run the NIC as a live ESP gateway between two interfaces (a bump in the wire)
  caps     print the NIC's hardware capabilities and current configuration
  bench    measure throughput and latency beside the raw single-core AES-GCM limit
  version  print the version of ov2, the commit it was built from, and the Go toolchain

Run 'ov2 <command> --help' (or 'ov2 help <command>') for the flags of a command.`
