package main

import (
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

const capsAbout = `Prints what the NIC answers to OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES (the
NDIS_IPSEC_OFFLOAD_V2 record) and OID_TCP_OFFLOAD_CURRENT_CONFIG, for the built-in
configuration or a NIC keyword file.`

func capsCmd(args []string, stdout, stderr io.Writer) error {
	c := newCommand("caps", "[flags]", capsAbout, "", stdout, stderr)
	config := c.fs.String("config", "", "NIC keyword `FILE` (default: built-in defaults)")
	if err := c.parse(args); err != nil {
		return err
	}
	if c.fs.NArg() != 0 {
		return c.usageError("unexpected argument %q (flags only)", c.fs.Arg(0))
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
	fmt.Fprintf(stdout, "suites offloaded (current configuration):\n")
	for _, s := range cur.IPsecV2.Suites() {
		fmt.Fprintf(stdout, "  %s\n", s)
	}
	return nil
}
