//go:build linux

// Package netns is a test kit for network namespaces and veth pairs: it creates two fresh
// namespaces joined by a veth pair, runs commands or in-process code inside either of them, and
// reads the interface counters, so that tests of live packet I/O (package live) run against a
// real kernel data path without touching the host's interfaces.
//
// It needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and the iproute2 `ip` command. Tests call
// NewPair, which skips the test with the reason when the kit is not available, unless the
// environment variable OV2_REQUIRE_NETNS=1 is set (CI sets it): then the test fails instead, so
// it cannot pass by silently skipping.
//
// The namespaces are quiet: IPv6 is disabled in both before the veth pair is created (no router
// or neighbour solicitations, no MLD reports) and no addresses are assigned, so the interface
// counters count only what a test sends.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RequireEnv is the environment variable that turns a skip for lack of namespaces into a
// failure when set to "1".
const RequireEnv = "OV2_REQUIRE_NETNS"

var (
	availOnce   sync.Once
	availOK     bool
	availReason string
	seq         atomic.Uint64
)

// Available reports whether the process can create network namespaces and veth pairs (root,
// `ip` present, `ip netns add` works); if not, the reason as text ("not root (uid 1000)",
// "ip: not found", the ip error). The probe runs once per process.
func Available() (ok bool, reason string) {
	availOnce.Do(func() { availOK, availReason = probe() })
	return availOK, availReason
}

func probe() (bool, string) {
	if uid := os.Geteuid(); uid != 0 {
		return false, fmt.Sprintf("not root (uid %d)", uid)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return false, "ip: not found"
	}
	name := fmt.Sprintf("ov2-%d-%d-probe", os.Getpid(), seq.Add(1))
	if out, err := run("ip", "netns", "add", name); err != nil {
		return false, fmt.Sprintf("ip netns add %s: %v: %s", name, err, out)
	}
	defer run("ip", "netns", "del", name)
	// A veth pair inside the probe namespace (deleted with it) proves veth works too.
	if out, err := run("ip", "-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1"); err != nil {
		return false, fmt.Sprintf("ip -n %s link add p0 type veth peer name p1: %v: %s", name, err, out)
	}
	return true, ""
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Pair is two network namespaces joined by a veth pair: veth end Link[i] lives in namespace
// NS[i]. Both ends and both namespaces' lo are up; no addresses are assigned.
type Pair struct {
	NS   [2]string
	Link [2]string
}

// NewPair creates two fresh namespaces (names unique per call: "ov2-<pid>-<n>-a" and
// "ov2-<pid>-<n>-b"), a veth pair with one end in each ("ov2-<n>-a", "ov2-<n>-b"), sets the MTU
// on both ends (mtu <= 0 leaves the kernel default, 1500), brings both ends and lo up, waits
// until both ends are running (carrier and operstate up), and registers cleanup with t.Cleanup
// (deleting the namespaces, which removes the veth pair). On failure it calls t.Fatalf with
// the command and its output. If !Available() it calls t.Skip(reason), unless
// OV2_REQUIRE_NETNS=1, in which case it calls t.Fatalf(reason).
func NewPair(t testing.TB, mtu int) *Pair {
	t.Helper()
	if ok, reason := Available(); !ok {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("netns: %s=1 but network namespaces are not available: %s", RequireEnv, reason)
		}
		t.Skip("netns: network namespaces not available: " + reason)
	}
	n := seq.Add(1)
	p := &Pair{}
	for i, sfx := range [2]string{"a", "b"} {
		p.NS[i] = fmt.Sprintf("ov2-%d-%d-%s", os.Getpid(), n, sfx)
		p.Link[i] = fmt.Sprintf("ov2-%d-%s", n, sfx)
		if len(p.Link[i]) > 15 { // IFNAMSIZ-1
			p.Link[i] = fmt.Sprintf("ov2-%d-%s", n%1000000, sfx)
		}
	}
	must := func(name string, args ...string) {
		t.Helper()
		if out, err := run(name, args...); err != nil {
			t.Fatalf("netns: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	for i := range p.NS {
		ns := p.NS[i]
		if out, err := run("ip", "netns", "add", ns); err != nil {
			// Left by a crashed process that had our pid? Names carry the pid, so it is not
			// another live process's namespace.
			if !strings.Contains(out, "File exists") {
				t.Fatalf("netns: ip netns add %s: %v: %s", ns, err, out)
			}
			run("ip", "netns", "del", ns)
			must("ip", "netns", "add", ns)
		}
		t.Cleanup(func() {
			if out, err := run("ip", "netns", "del", ns); err != nil {
				t.Errorf("netns: cleanup: ip netns del %s: %v: %s", ns, err, out)
			}
		})
		if err := p.InNS(i, disableIPv6); err != nil {
			t.Fatalf("netns: disabling IPv6 in %s: %v", ns, err)
		}
	}
	// Link[0] gets ifindex 10 in its fresh namespace and Link[1] gets 2 in its own: with equal
	// numbers the kernel takes a veth for a device without a lower link (ifindex == iflink) and
	// rate-limits its carrier event, which leaves a freshly created pair not running for up to a
	// second.
	add := []string{"link", "add", p.Link[0], "netns", p.NS[0], "index", "10"}
	if mtu > 0 {
		add = append(add, "mtu", strconv.Itoa(mtu))
	}
	add = append(add, "type", "veth", "peer", "name", p.Link[1], "netns", p.NS[1])
	if mtu > 0 {
		add = append(add, "mtu", strconv.Itoa(mtu))
	}
	must("ip", add...)
	for i := range p.NS {
		must("ip", "-n", p.NS[i], "link", "set", "lo", "up")
		must("ip", "-n", p.NS[i], "link", "set", p.Link[i], "up")
	}
	// Carrier and operational state are set asynchronously (linkwatch); until then the kernel
	// discards what is sent on the link. Wait until both ends are running. The bound is a
	// hang guard, not a measurement: linkwatch runs from a kernel work queue, which a busy
	// machine can hold back well past the usual milliseconds.
	for i := range p.NS {
		if err := p.waitRunning(i, 30*time.Second); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	return p
}

// waitRunning polls until Link[i] has IFF_RUNNING (up, carrier, operstate up).
func (p *Pair) waitRunning(i int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var flags net.Flags
		err := p.InNS(i, func() error {
			ifi, err := net.InterfaceByName(p.Link[i])
			if err == nil {
				flags = ifi.Flags
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("%s in %s: %w", p.Link[i], p.NS[i], err)
		}
		if flags&net.FlagRunning != 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in %s not running after %v (flags %v)", p.Link[i], p.NS[i], timeout, flags)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// disableIPv6 turns IPv6 off for every existing and future interface of the current thread's
// namespace, so that the veth pair stays silent. A kernel without IPv6 has nothing to turn off.
func disableIPv6() error {
	for _, f := range []string{"default", "all"} {
		path := "/proc/sys/net/ipv6/conf/" + f + "/disable_ipv6"
		err := os.WriteFile(path, []byte("1\n"), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Cmd returns an *exec.Cmd that runs name args... inside namespace NS[ns] (via `ip netns exec`,
// which also mounts that namespace's view of /sys).
func (p *Pair) Cmd(ns int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", p.NS[ns], name}, args...)...)
}

// Counters are the interface statistics of one veth end, as in /sys/class/net/<link>/statistics.
type Counters struct{ RxPackets, RxBytes, RxDropped, TxPackets, TxBytes, TxDropped uint64 }

var counterFiles = [...]string{"rx_packets", "rx_bytes", "rx_dropped", "tx_packets", "tx_bytes", "tx_dropped"}

// Counters reads /sys/class/net/<link>/statistics/{rx_packets,rx_bytes,rx_dropped,tx_packets,
// tx_bytes,tx_dropped} of Link[i] inside NS[i] (one `cat` via ip netns exec). It calls
// t.Fatalf on failure.
//
// For a veth pair, one end's rx_packets/rx_bytes are the other end's successful
// transmissions, and a frame the receiving CPU's backlog refused (netdev_max_backlog) counts
// in both the sender's tx_dropped and the receiver's rx_dropped, and is reported to the sending
// socket as ENOBUFS (so a sender that retries, like package live, loses nothing although
// rx_dropped grows).
func (p *Pair) Counters(t testing.TB, i int) Counters {
	t.Helper()
	args := make([]string, len(counterFiles))
	for k, f := range counterFiles {
		args[k] = "/sys/class/net/" + p.Link[i] + "/statistics/" + f
	}
	cmd := p.Cmd(i, "cat", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("netns: %s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(counterFiles) {
		t.Fatalf("netns: %s: want %d numbers, got %q", strings.Join(cmd.Args, " "), len(counterFiles), out)
	}
	var v [len(counterFiles)]uint64
	for k, f := range fields {
		v[k], err = strconv.ParseUint(f, 10, 64)
		if err != nil {
			t.Fatalf("netns: %s: %s: %v", strings.Join(cmd.Args, " "), counterFiles[k], err)
		}
	}
	return Counters{RxPackets: v[0], RxBytes: v[1], RxDropped: v[2], TxPackets: v[3], TxBytes: v[4], TxDropped: v[5]}
}

// InNS runs f on a locked OS thread switched into namespace NS[ns] (unix.Setns with the fd of
// /var/run/netns/<name>) and switches the thread back afterwards. Sockets opened by f stay in
// that namespace for their whole life, so f can open a socket (live.Open) that the caller then
// uses from any goroutine.
//
// f runs on a goroutine of its own (so that a thread whose namespace could not be restored is
// discarded rather than reused): it must not call t.FailNow, t.Fatal or t.Skip; a panic in f is
// re-raised in the caller. InNS returns f's error, or an error if the switch failed.
func (p *Pair) InNS(ns int, f func() error) error {
	if ns < 0 || ns > 1 {
		return fmt.Errorf("netns: namespace index %d out of range", ns)
	}
	return inNamespace(p.NS[ns], f)
}

// inNamespace runs f on a locked OS thread switched into the named namespace (see InNS).
func inNamespace(name string, f func() error) error {
	type result struct {
		err   error
		panic any
		pan   bool
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// Left locked on purpose when the namespace cannot be restored: the goroutine exits
		// locked and the runtime discards the thread.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: fmt.Errorf("netns: open /proc/thread-self/ns/net: %w", err)}
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/var/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: fmt.Errorf("netns: open /var/run/netns/%s: %w", name, err)}
			return
		}
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netns: setns %s: %w", name, err)}
			return
		}
		var r result
		func() {
			defer func() {
				if v := recover(); v != nil {
					r.panic, r.pan = v, true
				}
			}()
			r.err = f()
		}()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		done <- r
	}()
	r := <-done
	if r.pan {
		panic(r.panic)
	}
	return r.err
}
