//go:build linux

package netns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Net is a set of fresh network namespaces, each known by a role ("a", "gw1", ...), joined
// by veth pairs as a test wires them: a topology of hosts, gateways and links that exists
// only for the test and is removed with it. As with NewPair, IPv6 is off in every
// namespace unless the test turns it on (EnableIPv6), and no addresses are assigned.
type Net struct {
	id    uint64
	names map[string]string
}

// NewNet creates a namespace for each role ("ov2-<pid>-<n>-<role>") and registers their
// removal (with every veth in them) with t.Cleanup. It skips or fails the test like
// NewPair when namespaces are not available.
func NewNet(t testing.TB, roles ...string) *Net {
	t.Helper()
	if ok, reason := Available(); !ok {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("netns: %s=1 but network namespaces are not available: %s", RequireEnv, reason)
		}
		t.Skip("netns: network namespaces not available: " + reason)
	}
	n := &Net{id: seq.Add(1), names: map[string]string{}}
	for _, role := range roles {
		name := fmt.Sprintf("ov2-%d-%d-%s", os.Getpid(), n.id, role)
		if out, err := run("ip", "netns", "add", name); err != nil {
			run("ip", "netns", "del", name) // left by a crashed process with our pid
			if out2, err2 := run("ip", "netns", "add", name); err2 != nil {
				t.Fatalf("netns: ip netns add %s: %v: %s / %s", name, err, out, out2)
			}
		}
		t.Cleanup(func() {
			if out, err := run("ip", "netns", "del", name); err != nil {
				t.Errorf("netns: cleanup: ip netns del %s: %v: %s", name, err, out)
			}
		})
		n.names[role] = name
		if err := inNamespace(name, disableIPv6); err != nil {
			t.Fatalf("netns: disabling IPv6 in %s: %v", name, err)
		}
		n.Run(t, role, "ip", "link", "set", "lo", "up")
	}
	return n
}

// Name is the namespace of a role.
func (n *Net) Name(role string) string {
	name, ok := n.names[role]
	if !ok {
		panic("netns: no namespace for role " + role)
	}
	return name
}

// Link joins two namespaces with a veth pair: ifA in roleA, ifB in roleB (names of at most
// 15 bytes; they only need to be unique within their namespace), both with the MTU (0: the
// default, 1500), up, and running when it returns.
func (n *Net) Link(t testing.TB, roleA, ifA, roleB, ifB string, mtu int) {
	t.Helper()
	args := []string{"link", "add", ifA, "netns", n.Name(roleA)}
	if mtu > 0 {
		args = append(args, "mtu", strconv.Itoa(mtu))
	}
	args = append(args, "type", "veth", "peer", "name", ifB, "netns", n.Name(roleB))
	if mtu > 0 {
		args = append(args, "mtu", strconv.Itoa(mtu))
	}
	if out, err := run("ip", args...); err != nil {
		t.Fatalf("netns: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	for _, e := range [][2]string{{roleA, ifA}, {roleB, ifB}} {
		n.Run(t, e[0], "ip", "link", "set", e[1], "up")
	}
	for _, e := range [][2]string{{roleA, ifA}, {roleB, ifB}} {
		if err := n.waitRunning(e[0], e[1], 30*time.Second); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
}

func (n *Net) waitRunning(role, iface string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var flags net.Flags
		err := n.InNS(role, func() error {
			ifi, err := net.InterfaceByName(iface)
			if err == nil {
				flags = ifi.Flags
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("%s in %s: %w", iface, n.Name(role), err)
		}
		if flags&net.FlagRunning != 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in %s not running after %v", iface, n.Name(role), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// EnableIPv6 turns IPv6 on in a role's namespace (for interfaces that exist and future
// ones), without duplicate address detection, so that addresses work at once.
func (n *Net) EnableIPv6(t testing.TB, role string) {
	t.Helper()
	for _, kv := range [][2]string{{"all", "0"}, {"default", "0"}} {
		n.Run(t, role, "sysctl", "-qw", "net.ipv6.conf."+kv[0]+".disable_ipv6="+kv[1])
	}
	for _, k := range []string{"all", "default"} {
		n.Run(t, role, "sysctl", "-qw", "net.ipv6.conf."+k+".accept_dad=0")
	}
}

// Cmd returns a command that runs in a role's namespace (ip netns exec).
func (n *Net) Cmd(role, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name(role), name}, args...)...)
}

// Run runs a command in a role's namespace and returns its output; it fails the test if
// the command fails.
func (n *Net) Run(t testing.TB, role, name string, args ...string) string {
	t.Helper()
	out, err := n.Cmd(role, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("netns %s: %s %s: %v: %s", role, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out)
}

// InNS runs f on a thread switched into a role's namespace, as Pair.InNS does.
func (n *Net) InNS(role string, f func() error) error { return inNamespace(n.Name(role), f) }
