//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/internal/gwtest"
	"github.com/ov2dev/ov2/internal/netns"
)

// gwProc is `ov2 gateway` running in a namespace, as a program.
type gwProc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr []string
	lines  chan string
}

func startGatewayProc(t testing.TB, tp *gwtest.Topo, bin, role, saFile string, extra ...string) *gwProc {
	t.Helper()
	args := append([]string{"gateway", "--sa", saFile, "--inside", "in", "--outside", "out", "--json"}, extra...)
	p := &gwProc{cmd: tp.N.Cmd(role, bin, args...), lines: make(chan string, 64)}
	p.cmd.Stdout = &p.stdout
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr = append(p.stderr, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	p.waitFor(t, "SIGHUP reloads the SAs")
	return p
}

// waitFor waits for a line of standard error containing s.
func (p *gwProc) waitFor(t testing.TB, s string) string {
	t.Helper()
	deadline := time.After(gwtest.HangGuard)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("ov2 gateway ended before saying %q:\n%s", s, p.errText())
			}
			if strings.Contains(line, s) {
				return line
			}
		case <-deadline:
			t.Fatalf("ov2 gateway did not say %q:\n%s", s, p.errText())
		}
	}
}

func (p *gwProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// stop sends SIGTERM and returns the JSON report; the program must exit 0.
func (p *gwProc) stop(t testing.TB) gateway.Report {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ov2 gateway: %v\n%s\n%s", err, p.stdout.String(), p.errText())
		}
	case <-time.After(gwtest.HangGuard):
		t.Fatal("ov2 gateway did not stop on SIGTERM")
	}
	var r gateway.Report
	if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, p.stdout.String())
	}
	return r
}

// scrape reads the metrics a gateway serves on 127.0.0.1:port in its namespace.
func scrape(t *testing.T, n *netns.Net, role string, port int) map[string]float64 {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = n.InNS(role, func() (err error) { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse as the Prometheus text format: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			key := name
			for _, l := range m.Label {
				key += fmt.Sprintf(",%s=%s", l.GetName(), l.GetValue())
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

// SIGHUP while a TCP transfer runs, the way IKE rekeys: first the new SAs are added behind
// the old ones (both accepted, the old ones still used), then put in front (the new ones
// used), then the old ones removed. The transfer arrives intact; after the last reload
// no packet with a removed SA is on the wire; every frame is accounted for and nothing is
// dropped or passed in the clear; the counters served for Prometheus say the same.
func TestGatewaySIGHUP(t *testing.T) {
	tp := gwtest.New(t, gwtest.Opts{})
	dir := t.TempDir()
	bin := buildOV2(t, dir)
	old := []string{
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x6001 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x6002 mode transport aead 'rfc4106(gcm(aes))' 0x1112131415161718191a1b1c1d1e1f20b1b2b3b4 128`,
	}
	next := []string{
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x6101 mode transport aead 'rfc4106(gcm(aes))' 0x2102030405060708090a0b0c0d0e0f10a1a2a3a4 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x6102 mode transport aead 'rfc4106(gcm(aes))' 0x3112131415161718191a1b1c1d1e1f20b1b2b3b4 128`,
	}
	saFile := filepath.Join(dir, "gw.sa")
	write := func(lines ...string) {
		if err := os.WriteFile(saFile, []byte(gwtest.SAText(lines...)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(old...)
	g1 := startGatewayProc(t, tp, bin, "g1", saFile, "--metrics", "127.0.0.1:9464")
	g2 := startGatewayProc(t, tp, bin, "g2", saFile)
	capt := tp.StartCapture(t, "g2", "out")
	tp.Ping(t, "a", tp.B, 2)
	// 256 chunks of 64 KB, 10 ms apart: at least 2.56 s, so that the three reloads (600 ms
	// of sleeps and the gateways' answers) fall inside the transfer even on a busy machine
	// (with 2 ms, a loaded CI machine once finished the transfer on the old SAs).
	flow := tp.StartTransfer(t, tp.B, 5003, 16<<20, 10*time.Millisecond)

	var lastReload time.Time
	for i, step := range [][]string{
		append(append([]string(nil), old...), next...), // add the new SAs behind the old
		append(append([]string(nil), next...), old...), // use the new ones
		next, // remove the old ones
	} {
		time.Sleep(200 * time.Millisecond)
		write(step...)
		for _, g := range []*gwProc{g1, g2} {
			g.cmd.Process.Signal(syscall.SIGHUP)
			line := g.waitFor(t, "SIGHUP")
			if !strings.Contains(line, "reloaded") {
				t.Fatalf("reload %d: %s", i+1, line)
			}
		}
		lastReload = time.Now()
	}
	time.Sleep(200 * time.Millisecond)
	metrics := scrape(t, tp.N, "g1", 9464)
	flow.Wait(t)
	frames := capt.Finish(t)
	times := capt.Times()
	r1, r2 := g1.stop(t), g2.stop(t)
	// Standard error is a pipe, as under a service manager: one line a message, no blank
	// line before each (that ends a status line only on a terminal).
	for _, g := range []*gwProc{g1, g2} {
		if text := g.errText(); strings.HasPrefix(text, "\n") || strings.Contains(text, "\n\n") {
			t.Errorf("stderr, not a terminal, has blank lines:\n%s", text)
		}
	}

	for _, x := range []struct {
		name string
		r    gateway.Report
	}{{"g1", r1}, {"g2", r2}} {
		if !x.r.Balanced || len(x.r.Drops) != 0 || x.r.Reloads != 3 || x.r.ReloadErrors != 0 ||
			x.r.Decrypt.BridgedIP.Packets != 0 || x.r.Encrypt.BridgedIP.Packets != 0 {
			t.Errorf("%s: balanced %v, drops %v, reloads %d (%d failed), IP bridged %d/%d; want balanced, none, 3, 0, 0/0",
				x.name, x.r.Balanced, x.r.Drops, x.r.Reloads, x.r.ReloadErrors, x.r.Encrypt.BridgedIP.Packets, x.r.Decrypt.BridgedIP.Packets)
		}
		if len(x.r.PerSA) != 4 {
			t.Errorf("%s: %d SAs in force, want the 2 new ones both ways", x.name, len(x.r.PerSA))
		}
		for _, s := range x.r.PerSA {
			if s.SPI != 0x6101 && s.SPI != 0x6102 {
				t.Errorf("%s: SA 0x%x still in force", x.name, s.SPI)
			}
		}
	}
	// The wire: every ESP packet verifies; none of a removed SA after the last reload.
	states := gwtest.ParseSAs(t, gwtest.SAText(append(append([]string(nil), old...), next...)...))
	bySPI := gwtest.CheckWire(t, frames, states, tp.A, tp.B)
	late := 0
	for i, f := range frames {
		fr := gateway.ParseFrame(f)
		if fr.Kind != gateway.KindIPv4 || fr.Proto != 50 || !times[i].After(lastReload) {
			continue
		}
		if spi := binary.BigEndian.Uint32(f[fr.LinkLen+fr.HdrLen:]); spi == 0x6001 || spi == 0x6002 {
			late++
		}
	}
	if late != 0 {
		t.Errorf("%d packets of removed SAs on the wire after the last reload", late)
	}
	if bySPI[0x6101] == 0 || bySPI[0x6001] == 0 {
		t.Errorf("ESP by SPI %v: want both the old and the new SAs used", bySPI)
	}
	// Prometheus: the counters as served.
	for key, want := range map[string]float64{
		"ov2_gateway_reloads_total,result=ok":            3,
		"ov2_gateway_reloads_total,result=error":         0,
		"ov2_gateway_sas,dir=out":                        2,
		"ov2_gateway_link_up,interface=in,side=inside":   1,
		"ov2_gateway_link_up,interface=out,side=outside": 1,
		"ov2_gateway_mtu,interface=in,side=inside":       1500,
		"ov2_gateway_mtu,interface=out,side=outside":     1500,
	} {
		if got, ok := metrics[key]; !ok || got != want {
			t.Errorf("metric %s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if metrics["ov2_gateway_sa_packets_total,dir=out,dst=10.0.0.2,spi=0x00006101,src=10.0.0.1"] == 0 ||
		metrics["ov2_gateway_received_frames_total,interface=in,side=inside"] == 0 {
		t.Errorf("metrics lack traffic: %v", metrics)
	}
	t.Logf("16 MB with 3 reloads; ESP on the wire by SPI %v; g1 sealed %d, opened %d", bySPI, r1.Encrypt.Out.Packets, r1.Decrypt.Out.Packets)
}

// Bad configuration, a missing interface, no permission: a clear error and a non-zero exit.
func TestGatewayErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.sa")
	os.WriteFile(good, []byte("src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x7001 aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128\n"), 0o644)
	bad := filepath.Join(dir, "bad.sa")
	os.WriteFile(bad, []byte("src 10.0.0.1 dst 10.0.0.2 proto esp spi 0xZZ aead 'rfc4106(gcm(aes))' 0x01 128\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gateway"}, 2, "ov2 gateway: --sa FILE is required"},
		{[]string{"gateway", "--sa", good}, 2, "ov2 gateway: --inside IFACE and --outside IFACE are required"},
		{[]string{"gateway", "--sa", good, "--inside", "x", "--outside", "x"}, 2, `--inside and --outside are the same interface "x"`},
		{[]string{"gateway", "--sa", good, "--inside", "a", "--outside", "b", "--lanes", "0"}, 2, "--lanes 0: want 1 to 64"},
		{[]string{"gateway", "--sa", good, "--inside", "a", "--outside", "b", "--ring", "slots"}, 2, `--ring "slots": want frames or blocks`},
		{[]string{"gateway", "--sa", filepath.Join(dir, "none.sa"), "--inside", "a", "--outside", "b"}, 1, "none.sa: open: no such file or directory"},
		{[]string{"gateway", "--sa", bad, "--inside", "a", "--outside", "b"}, 1, `bad.sa:1: field "spi": "0xZZ" is not a number`},
		{[]string{"gateway", "--sa", good, "--inside", "nope0", "--outside", "nope1"}, 1, `live: interface "nope1": no such network interface`},
		{[]string{"gateway", "--sa", good, "--inside", "a", "--outside", "b", "--metrics", "not-an-address"}, 1, "--metrics not-an-address:"},
		{[]string{"gateway", "--sa", good, "--inside", "a", "--outside", "b", "--config", filepath.Join(dir, "none.conf")}, 1, "none.conf"},
	} {
		code, _, stderr := runCmd(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("ov2 %s: exit %d, %q; want %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
		}
	}
}

// Without CAP_NET_RAW: the error says what is needed, and the exit status is 1.
func TestGatewayNoPermission(t *testing.T) {
	p := netns.NewPair(t, 0)
	dir := t.TempDir()
	bin := buildOV2(t, dir)
	sa := filepath.Join(dir, "gw.sa")
	os.WriteFile(sa, []byte("src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x7001 aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128\n"), 0o644)
	os.Chmod(dir, 0o755) // and its parent, which the testing package made 0700
	os.Chmod(filepath.Dir(dir), 0o755)
	// As user nobody (65534), with no capabilities, in the pair's namespace.
	cmd := p.Cmd(0, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--", bin,
		"gateway", "--sa", sa, "--inside", "lo", "--outside", p.Link[0])
	out, err := cmd.CombinedOutput()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 1 || !strings.Contains(string(out), "needs CAP_NET_RAW") {
		t.Errorf("as nobody: exit %d (%v), output:\n%s\nwant 1 and a CAP_NET_RAW error", code, err, out)
	}
}

// The interfaces change under a running gateway: the outside goes down and comes back, its
// peer loses carrier and gets it back, then the inside is removed. Each change is said on
// standard error, once; the gateway does not spin while a link is down (it did: the
// socket's pending error made every poll return at once, one core at 100% from the first
// down for ever, and nothing said); traffic flows again once the link is up; the frames
// that came while the outside was down are counted as refused; and the removal ends the
// run with exit 1, an error naming the interface, and the report, balanced.
func TestGatewayLinkChanges(t *testing.T) {
	tp, g1, g2 := startGatewayPair(t, 0x6201, 0x6202, "--metrics", "127.0.0.1:9465")
	linkUp := func() float64 { return scrape(t, tp.N, "g1", 9465)["ov2_gateway_link_up,interface=out,side=outside"] }

	const down = `ov2 gateway: the outside interface "out" is down or has no carrier: nothing arrives on it, and frames for it are refused (and counted) until it is up`
	const up = `ov2 gateway: the outside interface "out" is up again`
	tp.N.Run(t, "g1", "ip", "link", "set", "out", "down")
	g1.waitFor(t, down)
	if v := linkUp(); v != 0 {
		t.Errorf("ov2_gateway_link_up for the outside, down: %v, want 0", v)
	}
	// Frames for the outside while it is down: A's pings (and ARP), refused.
	tp.N.Cmd("a", "ping", "-c", "3", "-i", "0.2", "-W", "1", tp.B.String()).Run()
	// Idle with a link down: CPU time (utime + stime, in clock ticks of 10 ms) over a second.
	before := cpuTicks(t, g1.cmd.Process.Pid)
	time.Sleep(time.Second)
	if used := cpuTicks(t, g1.cmd.Process.Pid) - before; used > 30 {
		t.Errorf("the gateway used %d ms of CPU in 1 s with its outside down: it spins", used*10)
	}
	tp.N.Run(t, "g1", "ip", "link", "set", "out", "up")
	g1.waitFor(t, up)
	if v := linkUp(); v != 1 {
		t.Errorf("ov2_gateway_link_up for the outside, up again: %v, want 1", v)
	}
	tp.Ping(t, "a", tp.B, 2)
	// The peer of g1's outside (g2's) goes down: g1's loses carrier.
	tp.N.Run(t, "g2", "ip", "link", "set", "out", "down")
	g1.waitFor(t, down)
	tp.N.Run(t, "g2", "ip", "link", "set", "out", "up")
	g1.waitFor(t, up)
	tp.Ping(t, "a", tp.B, 2)

	tp.N.Run(t, "g1", "ip", "link", "del", "in")
	done := make(chan error, 1)
	go func() { done <- g1.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(gwtest.HangGuard):
		t.Fatalf("ov2 gateway still runs after its inside interface was removed:\n%s", g1.errText())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r gateway.Report
	if jerr := json.Unmarshal(g1.stdout.Bytes(), &r); jerr != nil {
		t.Fatalf("report: %v\n%s", jerr, g1.stdout.String())
	}
	stderr := g1.errText()
	if code != 1 || !strings.HasSuffix(stderr, `ov2: gateway: the inside interface "in" was removed`) {
		t.Errorf("after the inside was removed: exit %d, stderr:\n%s\nwant 1 and the error last", code, stderr)
	}
	if n := strings.Count(stderr, down); n != 2 {
		t.Errorf("%d notices of the outside down, want 2:\n%s", n, stderr)
	}
	if n := strings.Count(stderr, up); n != 2 {
		t.Errorf("%d notices of the outside up, want 2:\n%s", n, stderr)
	}
	if !r.Balanced || r.Encrypt.Refused == 0 {
		t.Errorf("report: balanced %v, frames refused by the outside %d; want balanced and some refused", r.Balanced, r.Encrypt.Refused)
	}
	g2.stop(t)
}

// cpuTicks is a process's CPU time so far, user and system, in clock ticks (fields 14 and
// 15 of /proc/PID/stat; 100 a second on Linux).
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// The MTU of the link between the gateways drops from 1500 to 1400 while they run: each
// says so, and follows it (the fast path's MTU check, its senders, its ICMP errors), so a
// 4 MB TCP transfer from A to B arrives intact through path MTU discovery. Before, the
// gateways kept measuring against 1500: the sealed packets that no longer fit were refused
// by the interface (counted, but TCP never learned to send smaller ones) and the transfer
// stalled.
func TestGatewayMTUChange(t *testing.T) {
	tp, g1, g2 := startGatewayPair(t, 0x6301, 0x6302, "--metrics", "127.0.0.1:9466")
	for _, g := range []string{"g1", "g2"} {
		tp.N.Run(t, g, "ip", "link", "set", "out", "mtu", "1400")
	}
	const said = `ov2 gateway: the outside interface "out" has MTU 1400 now (it had 1500)`
	g1.waitFor(t, said)
	g2.waitFor(t, said)
	if v := scrape(t, tp.N, "g1", 9466)["ov2_gateway_mtu,interface=out,side=outside"]; v != 1400 {
		t.Errorf("ov2_gateway_mtu for the outside: %v, want 1400", v)
	}
	took := tp.Transfer(t, tp.B, 5004, 4<<20)
	r1, r2 := g1.stop(t), g2.stop(t)
	if !r1.Balanced || !r2.Balanced || r1.Encrypt.ICMP.Packets == 0 || r1.Encrypt.Refused != 0 {
		t.Errorf("g1: balanced %v, ICMP errors %d, refused %d; g2 balanced %v; want balanced, some ICMP errors, none refused",
			r1.Balanced, r1.Encrypt.ICMP.Packets, r1.Encrypt.Refused, r2.Balanced)
	}
	t.Logf("4 MB through an outside MTU lowered to 1400 in %v; g1 sent %d ICMP errors", took.Round(time.Millisecond), r1.Encrypt.ICMP.Packets)
}

// A gateway box whose inside interface has an address and IP forwarding on: the kernel
// would route what hosts send to the box itself, in clear, beside the gateway (which only
// taps the interface). The gateway warns at the start, naming the sysctl and the address;
// the other gateway, set up as a bump in the wire, says nothing of the kind.
func TestGatewayForwardingWarning(t *testing.T) {
	tp := gwtest.New(t, gwtest.Opts{})
	dir := t.TempDir()
	bin := buildOV2(t, dir)
	saFile := filepath.Join(dir, "gw.sa")
	if err := os.WriteFile(saFile, []byte(gwtest.SAText(
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x6401 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128`,
	)), 0o644); err != nil {
		t.Fatal(err)
	}
	tp.N.Run(t, "g1", "sysctl", "-qw", "net.ipv4.conf.in.forwarding=1")
	tp.N.Run(t, "g1", "ip", "addr", "add", "10.0.0.254/24", "dev", "in")
	g1 := startGatewayProc(t, tp, bin, "g1", saFile)
	g2 := startGatewayProc(t, tp, bin, "g2", saFile)
	want := `ov2 gateway: warning: the kernel forwards IPv4 on in (net.ipv4.conf.in.forwarding = 1) and in has address 10.0.0.254/24: what hosts send to this box`
	g1.waitFor(t, want)
	tp.Ping(t, "a", tp.B, 1)
	g1.stop(t)
	g2.stop(t)
	if strings.Contains(g2.errText(), "warning") {
		t.Errorf("g2, no addresses and no forwarding, warned:\n%s", g2.errText())
	}
}

// startGatewayPair makes the end-to-end topology and starts a gateway in g1 and in g2 with
// one transport SA each way between A and B (SPIs out and in), and checks that a ping
// gets through.
func startGatewayPair(t *testing.T, out, in uint32, g1Extra ...string) (*gwtest.Topo, *gwProc, *gwProc) {
	t.Helper()
	tp := gwtest.New(t, gwtest.Opts{})
	bin, saFile := pairFiles(t, out, in)
	g1 := startGatewayProc(t, tp, bin, "g1", saFile, g1Extra...)
	g2 := startGatewayProc(t, tp, bin, "g2", saFile)
	tp.Ping(t, "a", tp.B, 2)
	return tp, g1, g2
}

// pairFiles builds ov2 and writes the SA file of a transport SA pair between A and B (SPIs
// out and in) into a temporary directory.
func pairFiles(t *testing.T, out, in uint32) (bin, saFile string) {
	t.Helper()
	dir := t.TempDir()
	bin = buildOV2(t, dir)
	saFile = filepath.Join(dir, "gw.sa")
	if err := os.WriteFile(saFile, []byte(gwtest.SAText(
		fmt.Sprintf(`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x%x mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128`, out),
		fmt.Sprintf(`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x%x mode transport aead 'rfc4106(gcm(aes))' 0x1112131415161718191a1b1c1d1e1f20b1b2b3b4 128`, in),
	)), 0o644); err != nil {
		t.Fatal(err)
	}
	return bin, saFile
}

// A reload the NIC refuses (an added SA past SaOffloadCapacity) changes nothing, and says
// so: the SAs in force stay, traffic goes on, the report counts the failed reload. Before,
// the line ended at the NIC's error, leaving the user to guess what was in force.
func TestGatewayReloadRefused(t *testing.T) {
	tp := gwtest.New(t, gwtest.Opts{})
	dir := t.TempDir()
	bin := buildOV2(t, dir)
	conf := filepath.Join(dir, "cap.conf")
	if err := os.WriteFile(conf, []byte("SaOffloadCapacity = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	saFile := filepath.Join(dir, "gw.sa")
	lines := []string{
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x6501 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x6502 mode transport aead 'rfc4106(gcm(aes))' 0x1112131415161718191a1b1c1d1e1f20b1b2b3b4 128 dir in`,
	}
	if err := os.WriteFile(saFile, []byte(gwtest.SAText(lines[0]+" dir out", lines[1])), 0o644); err != nil {
		t.Fatal(err)
	}
	g1 := startGatewayProc(t, tp, bin, "g1", saFile, "--config", conf)
	extra := `src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x6503 mode transport aead 'rfc4106(gcm(aes))' 0x2102030405060708090a0b0c0d0e0f10a1a2a3a4 128 dir out`
	if err := os.WriteFile(saFile, []byte(gwtest.SAText(lines[0]+" dir out", lines[1], extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	g1.cmd.Process.Signal(syscall.SIGHUP)
	line := g1.waitFor(t, "SIGHUP")
	want := "ov2 gateway: SIGHUP: reloading " + saFile + ": " + saFile + ":3: SA 0x00006503 (outbound): "
	if !strings.HasPrefix(line, want) || !strings.Contains(line, "SaOffloadCapacity reached: 2 of 2") ||
		!strings.HasSuffix(line, "; the SAs in force are unchanged") {
		t.Errorf("stderr line %q, want %q..., the capacity, and that nothing changed", line, want)
	}
	r := g1.stop(t)
	if r.Reloads != 0 || r.ReloadErrors != 1 || len(r.PerSA) != 2 || !r.Balanced {
		t.Errorf("report: reloads %d (%d failed), %d SAs in force, balanced %v; want 0 (1 failed), 2, true", r.Reloads, r.ReloadErrors, len(r.PerSA), r.Balanced)
	}
}

// A gateway started while a link is down (a script that starts it right after bringing
// its interfaces up, before the carrier comes; a service started at boot) runs and waits
// for it: it said `live: interface "out": no carrier` and exited. g2's outside is down, so
// g1's has no carrier; both start, say so once, say when it is up, and traffic flows.
func TestGatewayStartsWithLinkDown(t *testing.T) {
	tp := gwtest.New(t, gwtest.Opts{})
	bin, saFile := pairFiles(t, 0x6301, 0x6302)
	tp.N.Run(t, "g2", "ip", "link", "set", "out", "down")
	const down = `ov2 gateway: the outside interface "out" is down or has no carrier: waiting for it (nothing arrives on it, and frames for it are refused and counted until it is up)`
	const up = `ov2 gateway: the outside interface "out" is up again`
	g1 := startGatewayProc(t, tp, bin, "g1", saFile)
	g2 := startGatewayProc(t, tp, bin, "g2", saFile)
	g1.waitFor(t, down)
	g2.waitFor(t, down)
	tp.N.Run(t, "g2", "ip", "link", "set", "out", "up")
	g1.waitFor(t, up)
	g2.waitFor(t, up)
	tp.Ping(t, "a", tp.B, 3)
	r1, r2 := g1.stop(t), g2.stop(t)
	for _, x := range []struct {
		name string
		p    *gwProc
		r    gateway.Report
	}{{"g1", g1, r1}, {"g2", g2, r2}} {
		text := x.p.errText()
		if strings.Count(text, down) != 1 || strings.Count(text, up) != 1 {
			t.Errorf("%s: want one notice of the outside down and one of it up:\n%s", x.name, text)
		}
		if !x.r.Balanced || x.r.Encrypt.Out.Packets < 3 {
			t.Errorf("%s: balanced %v, sealed %d; want balanced and the pings sealed", x.name, x.r.Balanced, x.r.Encrypt.Out.Packets)
		}
	}
}
