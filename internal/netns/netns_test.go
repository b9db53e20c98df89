//go:build linux

package netns_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/netns"
)

func TestAvailable(t *testing.T) {
	ok, reason := netns.Available()
	t.Logf("Available: %v %q", ok, reason)
	if !ok && reason == "" {
		t.Error("not available, with no reason")
	}
	if ok && reason != "" {
		t.Errorf("available, with a reason %q", reason)
	}
	if os.Geteuid() != 0 && (ok || !strings.HasPrefix(reason, "not root (uid ")) {
		t.Errorf("non-root: Available() = %v, %q", ok, reason)
	}
}

func nsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

// netnsInode identifies the calling thread's network namespace.
func netnsInode() (uint64, error) {
	var st unix.Stat_t
	err := unix.Stat("/proc/thread-self/ns/net", &st)
	return st.Ino, err
}

func TestNewPair(t *testing.T) {
	var p *netns.Pair
	t.Run("pair", func(t *testing.T) {
		start := time.Now()
		p = netns.NewPair(t, 9000)
		t.Logf("NewPair took %v: %+v", time.Since(start), *p)
		list := nsList(t)
		for i := range p.NS {
			if !strings.Contains(list, p.NS[i]) {
				t.Errorf("namespace %s not in ip netns list:\n%s", p.NS[i], list)
			}
		}
		if p.NS[0] == p.NS[1] {
			t.Errorf("namespaces have the same name %s", p.NS[0])
		}

		// Each end lives in its own namespace, is up and has MTU 9000; the other end is not there.
		var peerMAC net.HardwareAddr
		runtime.LockOSThread() // compare this thread's namespace before and after
		defer runtime.UnlockOSThread()
		host, err := netnsInode()
		if err != nil {
			t.Fatal(err)
		}
		var inodes [2]uint64
		for i := range 2 {
			err := p.InNS(i, func() error {
				var err error
				if inodes[i], err = netnsInode(); err != nil {
					return err
				}
				ifi, err := net.InterfaceByName(p.Link[i])
				if err != nil {
					return err
				}
				if ifi.MTU != 9000 || ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagRunning == 0 {
					t.Errorf("%s: MTU %d flags %v", p.Link[i], ifi.MTU, ifi.Flags)
				}
				if i == 1 {
					peerMAC = ifi.HardwareAddr
				}
				if _, err := net.InterfaceByName(p.Link[1-i]); err == nil {
					t.Errorf("%s is visible in %s", p.Link[1-i], p.NS[i])
				}
				lo, err := net.InterfaceByName("lo")
				if err != nil || lo.Flags&net.FlagUp == 0 {
					t.Errorf("lo in %s: %v %v", p.NS[i], lo, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if inodes[0] == host || inodes[1] == host || inodes[0] == inodes[1] {
			t.Errorf("namespace inodes: host %d, InNS %v", host, inodes)
		}
		if got, _ := netnsInode(); got != host {
			t.Errorf("caller's thread left in namespace %d, want %d", got, host)
		}

		// IPv6 is off on both ends (no solicitations or reports to disturb the counters).
		for i := range 2 {
			f := "/proc/sys/net/ipv6/conf/" + p.Link[i] + "/disable_ipv6"
			if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
				break // no IPv6 in this kernel
			}
			out, err := p.Cmd(i, "cat", f).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "1" {
				t.Errorf("%s in %s: %q, %v; want 1", f, p.NS[i], out, err)
			}
		}

		// Quiet at first: nothing sent or received.
		for i := range 2 {
			if c := p.Counters(t, i); c != (netns.Counters{}) {
				t.Errorf("Counters(%d) = %+v, want zeros", i, c)
			}
		}

		// One frame from a packet socket opened in NS[0]; sent from this goroutine, after
		// InNS has returned: the socket stays in its namespace.
		var fd int
		if err := p.InNS(0, func() error {
			ifi, err := net.InterfaceByName(p.Link[0])
			if err != nil {
				return err
			}
			fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
		}); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		frame := make([]byte, 100)
		copy(frame, peerMAC)
		copy(frame[6:], []byte{2, 0, 0, 0, 0, 1})
		binary.BigEndian.PutUint16(frame[12:], 0x88b5)
		if err := unix.Sendto(fd, frame, 0, nil); err != nil {
			t.Fatal(err)
		}
		c0, c1 := p.Counters(t, 0), p.Counters(t, 1)
		if c0.TxPackets != 1 || c0.TxBytes != 100 || c1.RxPackets != 1 || c1.RxBytes != 100 {
			t.Errorf("after one 100-byte frame: near %+v, far %+v", c0, c1)
		}

		// Cmd runs inside the namespace.
		out, err := p.Cmd(1, "ip", "-o", "link", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !bytes.Contains(out, []byte(p.Link[1])) || bytes.Contains(out, []byte(p.Link[0]+":")) {
			t.Errorf("ip link show in %s:\n%s", p.NS[1], out)
		}
	})
	if p == nil {
		return
	}
	// The subtest's cleanup has run: the namespaces are gone.
	list := nsList(t)
	for i := range p.NS {
		if strings.Contains(list, p.NS[i]) {
			t.Errorf("namespace %s still listed after cleanup:\n%s", p.NS[i], list)
		}
	}
}

func TestInNSErrorAndPanic(t *testing.T) {
	p := netns.NewPair(t, 0)
	want := os.ErrDeadlineExceeded
	if err := p.InNS(1, func() error { return want }); err != want {
		t.Errorf("InNS returned %v, want f's error", err)
	}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the panic from f", v)
			}
		}()
		p.InNS(0, func() error { panic("boom") })
	}()
	if err := (&netns.Pair{NS: [2]string{"ov2-no-such-namespace", ""}}).InNS(0, func() error { return nil }); err == nil {
		t.Error("InNS into a missing namespace: no error")
	}
	var mtu int
	p.InNS(0, func() error {
		ifi, err := net.InterfaceByName(p.Link[0])
		if err == nil {
			mtu = ifi.MTU
		}
		return err
	})
	if mtu != 1500 {
		t.Errorf("NewPair(t, 0): MTU %d, want the default 1500", mtu)
	}
}
