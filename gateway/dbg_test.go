//go:build linux

package gateway_test

import (
	"os"
	"testing"

	"github.com/ov2dev/ov2/internal/gwtest"
)

func TestDbgFrag(t *testing.T) {
	tp := gwtest.New(t, gwtest.Opts{})
	sas := gwtest.ParseSAs(t, gwtest.SAText(
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x5001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x5002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`))
	g1 := tp.StartGateway(t, "g1", sas, 1)
	g2 := tp.StartGateway(t, "g2", sas, 1)
	tp.Ping(t, "a", tp.B, 1)
	out, _ := tp.N.Cmd("a", "ping", "-c", "2", "-W", "2", "-M", "dont", "-s", "1472", tp.B.String()).CombinedOutput()
	t.Logf("%s", out)
	out, _ = tp.N.Cmd("b", "ip", "-s", "link", "show", "eth0").CombinedOutput()
	t.Logf("%s", out)
	out, _ = tp.N.Cmd("b", "nstat", "-az", "IpReasm*", "IpInHdrErrors", "IpInDiscards", "IcmpInEchos", "IcmpOutEchoReps", "IpFrag*", "IpOutRequests").CombinedOutput()
	t.Logf("%s", out)
	out, _ = tp.N.Cmd("a", "nstat", "-az", "IpReasm*", "IpInHdrErrors", "IpInDiscards", "IcmpInEchoReps", "IpFrag*", "IcmpInDestUnreachs").CombinedOutput()
	t.Logf("%s", out)
	g1.Stop(t).Print(os.Stdout)
	g2.Stop(t).Print(os.Stdout)
}
