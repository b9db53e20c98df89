//go:build !linux

package netns

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// RequireEnv is the environment variable that turns a skip for lack of namespaces into a
// failure when set to "1".
const RequireEnv = "OV2_REQUIRE_NETNS"

// Available reports false: network namespaces exist only on Linux.
func Available() (ok bool, reason string) { return false, "not Linux (" + runtime.GOOS + ")" }

// Pair is two network namespaces joined by a veth pair (Linux only).
type Pair struct {
	NS   [2]string
	Link [2]string
}

// NewPair skips the test (or fails it when OV2_REQUIRE_NETNS=1): not Linux.
func NewPair(t testing.TB, mtu int) *Pair {
	t.Helper()
	_, reason := Available()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("netns: %s=1 but network namespaces are not available: %s", RequireEnv, reason)
	}
	t.Skip("netns: network namespaces not available: " + reason)
	return nil
}

// Cmd returns a command that runs via `ip netns exec` (Linux only).
func (p *Pair) Cmd(ns int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", p.NS[ns], name}, args...)...)
}

// Counters are the interface statistics of one veth end.
type Counters struct{ RxPackets, RxBytes, RxDropped, TxPackets, TxBytes, TxDropped uint64 }

// Counters fails the test: not Linux.
func (p *Pair) Counters(t testing.TB, i int) Counters {
	t.Helper()
	t.Fatalf("netns: not Linux")
	return Counters{}
}

// InNS returns an error: not Linux.
func (p *Pair) InNS(ns int, f func() error) error { return errors.New("netns: not Linux") }
