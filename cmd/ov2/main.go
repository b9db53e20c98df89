// Command ov2 drives the ov2 engine: a software NIC with IPsec Offload Version 2.
//
//	ov2 replay [flags]     run packets through the NIC and check the round trip
//	ov2 caps [--config F]  print the NIC's capabilities and current configuration
//
// Until the pcap replayer lands, `ov2 replay` with no input runs the built-in round trip:
// it offloads SAs through the OIDs, frames ESP packets as the host would, seals them with
// the outbound SA, opens them with the inbound SA found by SPI and destination, and checks
// that every packet came back byte for byte.
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
		err = replay(args[1:], stdout, stderr)
	case "caps":
		err = caps(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ov2: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "ov2: %v\n", err)
	return 1
}

const usage = `usage: ov2 <command> [flags]

commands:
  replay   run packets through the NIC and check the round trip (built-in demo for now)
  caps     print the NIC's hardware capabilities and current configuration

Run 'ov2 <command> --help' for the flags of a command.`
