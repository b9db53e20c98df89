package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ov2dev/ov2/nic"
)

// loadConfig reads the NIC keyword file, or returns the defaults when path is empty.
func loadConfig(path string) (nic.Config, error) {
	if path == "" {
		return nic.DefaultConfig(), nil
	}
	return nic.LoadConfig(path)
}

func capsCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ov2 caps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "NIC keyword file (default: built-in defaults)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ov2 caps: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	n, err := nic.New(cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	fmt.Fprintf(stdout, "OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:\n  %v\n", n.QueryHardwareCapabilities())
	cur := n.QueryCurrentConfig()
	fmt.Fprintf(stdout, "OID_TCP_OFFLOAD_CURRENT_CONFIG:\n  %v\n  IPv4-only: Ah=%v Esp=%v\n", cur.IPsecV2, cur.IPv4Ah, cur.IPv4Esp)
	return nil
}
