package gateway

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// KernelRoutes says whether the kernel of this network namespace would route, in clear,
// packets that arrive on iface addressed to this box: IP forwarding is on for the
// interface (net.ipv4.conf.IFACE.forwarding, net.ipv6.conf.IFACE.forwarding) and it has an
// address of that family for hosts to send to (IPv6 link-local addresses not counted). An
// AF_PACKET socket only taps the interface: the kernel still takes every frame, so such a
// packet would leave both sealed by the gateway and in clear by the kernel. It returns
// one line per family that applies, for a warning, and nothing when the files cannot be
// read.
func KernelRoutes(iface string) []string {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, fam := range []struct {
		name, sysctl string
		v4           bool
	}{{"IPv4", "ipv4", true}, {"IPv6", "ipv6", false}} {
		key := fmt.Sprintf("net.%s.conf.%s.forwarding", fam.sysctl, iface)
		b, err := os.ReadFile(filepath.Join("/proc/sys/net", fam.sysctl, "conf", iface, "forwarding"))
		if err != nil || strings.TrimSpace(string(b)) == "0" {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || (ipn.IP.To4() != nil) != fam.v4 || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			out = append(out, fmt.Sprintf("the kernel forwards %s on %s (%s = %s) and %s has address %s",
				fam.name, iface, key, strings.TrimSpace(string(b)), iface, ipn))
			break
		}
	}
	return out
}
