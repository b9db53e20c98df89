package fastpath_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
)

// collector gathers the results of both callbacks, cloned.
type collector struct {
	mu          sync.Mutex
	sealed      [][]byte // Protected frames, in completion order
	sealedFlags []bool
	failed      int
	opened      [][]byte // Unprotected frames (delivered)
	verdicts    map[host.Verdict]int
}

func (c *collector) config(cfg fastpath.Config) fastpath.Config {
	c.verdicts = map[host.Verdict]int{}
	cfg.Protected = func(b fastpath.Burst) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range b.Results {
			if r.Failed {
				c.failed++
				continue
			}
			c.sealed = append(c.sealed, bytes.Clone(r.Frame))
			c.sealedFlags = append(c.sealedFlags, r.Sealed)
		}
	}
	cfg.Unprotected = func(b fastpath.Burst) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range b.Results {
			c.verdicts[r.Verdict]++
			if !r.Failed {
				c.opened = append(c.opened, bytes.Clone(r.Frame))
			}
		}
	}
	return cfg
}

// wait waits until n frames were sealed (or cleared) and m opened.
func (c *collector) wait(t *testing.T, n, m int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.mu.Lock()
		s, o := len(c.sealed)+c.failed, 0
		for _, v := range c.verdicts {
			o += v
		}
		c.mu.Unlock()
		if s >= n && o >= m {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d protected and %d unprotected, got %d and %d", n, m, s, o)
		}
		time.Sleep(time.Millisecond)
	}
}

// ethHeader is a 14-byte Ethernet header that carries i in its MAC addresses.
func ethHeader(i int, v6 bool) []byte {
	h := make([]byte, 14)
	h[0], h[6] = 0x02, 0x02
	binary.BigEndian.PutUint32(h[2:], uint32(i))
	binary.BigEndian.PutUint32(h[8:], ^uint32(i))
	binary.BigEndian.PutUint16(h[12:], 0x0800)
	if v6 {
		binary.BigEndian.PutUint16(h[12:], 0x86dd)
	}
	return h
}

// Each kind of SA: what Protect seals comes back with its link header, and what Unprotect
// opens is, link header and all, the frame that was protected. Every count is exact. Each
// runs on lane goroutines (2 lanes) and inline (Config.Inline): there nothing moves until
// Turn, which returns with every packet through the callbacks; the ESN SA's crossing into
// a new high half drains the send path from inside Protect (host.Sender.SetDrainer).
func TestRoundTripModes(t *testing.T) {
	for _, c := range []struct {
		name, sa, src, dst string
		proto              byte // of the sealed packet
	}{
		{"transport-v4-gcm128", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x101 mode transport aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`, "192.0.2.1", "198.51.100.1", 50},
		{"transport-v4-gmac", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x102 mode transport aead 'rfc4543(gcm(aes))' ` + key128 + ` 128`, "192.0.2.1", "198.51.100.1", 50},
		{"tunnel-v4-gcm256", `src 192.0.2.1 dst 203.0.113.9 proto esp spi 0x103 mode tunnel aead 'rfc4106(gcm(aes))' ` + key256 + ` 128 sel src 10.1.0.0/16 dst 10.2.0.0/16`, "10.1.2.3", "10.2.3.4", 50},
		{"transport-v6-icv12", `src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x104 mode transport aead 'rfc4106(gcm(aes))' ` + key128 + ` 96`, "2001:db8::1", "2001:db8::2", 50},
		{"natt-v4", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x105 mode transport aead 'rfc4106(gcm(aes))' ` + key128 + ` 128 encap espinudp 4500 4500 0.0.0.0`, "192.0.2.1", "198.51.100.1", 17},
		{"tunnel-v6-esn", `src 2001:db8::1 dst 2001:db8::9 proto esp spi 0x106 mode tunnel aead 'rfc4106(gcm(aes))' ` + key128 + ` 128 flag esn replay-oseq-hi 0 replay-oseq 0xfffffff0 replay-seq 0xfffffff0 sel src 2001:db8:1::/48 dst 2001:db8:2::/48`, "2001:db8:1::5", "2001:db8:2::6", 50},
	} {
		for _, inline := range []bool{false, true} {
			name := c.name + map[bool]string{false: "/lanes", true: "/inline"}[inline]
			t.Run(name, func(t *testing.T) { roundTripMode(t, c.sa, c.src, c.dst, c.proto, inline) })
		}
	}
}

// linkPath makes a path with link headers for the SAs in sa, its callbacks collected in
// col: on two lanes, or inline (one lane). It is closed when the test ends.
func linkPath(t *testing.T, col *collector, sa string, inline bool) *fastpath.Path {
	t.Helper()
	cfg := fastpath.Config{SAs: parse(t, sa), Lanes: 2, LinkHeaders: true}
	if inline {
		cfg.Lanes, cfg.Inline = 1, true
	}
	p, err := fastpath.New(col.config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTripMode is one case of TestRoundTripModes, on lane goroutines or inline.
func roundTripMode(t *testing.T, sa, src, dst string, proto byte, inline bool) {
	var col collector
	p := linkPath(t, &col, sa, inline)
	// settle is the goroutines' wait, or the inline owner's Turn, which must
	// complete exactly what was flushed.
	settle := func(n, m, turned int) {
		t.Helper()
		if !inline {
			col.wait(t, n, m)
			return
		}
		if got := p.Queue(0).Turn(); got != turned {
			t.Fatalf("Turn completed %d packets, want %d", got, turned)
		}
		col.wait(t, n, m) // already there: returns at once
	}
	v6 := strings.Contains(src, ":")
	const n = 300
	var frames [][]byte
	for i := range n {
		min := 28
		if v6 {
			min = 48
		}
		f := append(ethHeader(i, v6), udpSeq(src, dst, min+(i*37)%1400, uint64(i))...)
		frames = append(frames, f)
		out, err := p.Protect(f, 14, uint64(i))
		if err != nil || !out.Sealed {
			t.Fatalf("packet %d: %+v, %v", i, out, err)
		}
	}
	// One for no SA goes through in clear, link header and all.
	clearFrame := append(ethHeader(n, false), udpPacket("192.0.2.200", "192.0.2.201", 60)...)
	if out, err := p.Protect(clearFrame, 14, n); err != nil || out.Sealed {
		t.Fatalf("clear packet: %+v, %v", out, err)
	}
	p.Flush()
	if inline && strings.Contains(sa, "esn") && drained(p) == 0 {
		t.Fatal("the ESN SA crossed into a new high half and nothing completed inside Protect: the drain did not turn the path")
	}
	settle(n+1, 0, n+1-drained(p))
	col.mu.Lock()
	sealed := col.sealed
	col.mu.Unlock()
	var gotClear bool
	for k, f := range sealed {
		if !col.sealedFlags[k] {
			if !bytes.Equal(f, clearFrame) {
				t.Fatalf("clear frame changed")
			}
			gotClear = true
			continue
		}
		if f[14+(map[bool]int{false: 9, true: 6}[f[14]>>4 == 6])] != proto {
			t.Fatalf("sealed frame %d: protocol %d, want %d", k, f[23], proto)
		}
		i := int(binary.BigEndian.Uint32(f[2:]))
		if !bytes.Equal(f[:12], frames[i][:12]) {
			t.Fatalf("sealed frame %d lost its link header", k)
		}
		if err := p.Unprotect(f, 14, uint64(i)); err != nil {
			t.Fatalf("unprotect %d: %v", k, err)
		}
	}
	if !gotClear {
		t.Fatal("the clear packet did not come back")
	}
	p.Flush()
	settle(n+1, n, n)
	p.Stop()
	if col.verdicts[host.Delivered] != n || len(col.opened) != n || col.failed != 0 {
		t.Fatalf("verdicts %v, %d opened, %d failed", col.verdicts, len(col.opened), col.failed)
	}
	seen := map[int]bool{}
	for _, f := range col.opened {
		i := int(binary.BigEndian.Uint32(f[2:]))
		if i >= n || seen[i] || !bytes.Equal(f[:12], frames[i][:12]) || !bytes.Equal(f[14:], frames[i][14:]) {
			t.Fatalf("opened frame (index %d) is not the one protected", i)
		}
		seen[i] = true
	}
	st := p.Stats()
	if st.Sealed.Packets != n || st.Clear.Packets != 1 || st.Delivered.Packets != n || st.Submitted != n ||
		!st.Send.Balanced() || !st.Recv.Balanced() || len(st.Out) != 1 || len(st.In) != 1 ||
		st.Out[0].Protected.Packets != n || st.In[0].Packets != n {
		t.Errorf("stats %+v", st)
	}
}

// drained is how many Protect packets completed before the owner's Turn: on an inline path,
// those a drain ran (an SA's crossing into a new high half) from inside Protect.
func drained(p *fastpath.Path) int {
	return int(p.Stats().Sealed.Packets + p.Stats().Clear.Packets)
}

// With several queues each SA belongs to one: Protect and Unprotect refuse its packets on
// any other (saying which), Rules says the same, and QueueOf is symmetric.
func TestQueues(t *testing.T) {
	const queues = 4
	var text strings.Builder
	for i := range 8 {
		fmt.Fprintf(&text, "src 10.0.0.1 dst 10.0.%d.2 proto esp spi 0x%x aead 'rfc4106(gcm(aes))' %s 128\n", i, 0x200+i, key128)
	}
	p, err := fastpath.New(fastpath.Config{SAs: parse(t, text.String()), Queues: queues})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rules := p.Rules()
	if len(rules.Out) != 8 || len(rules.In) != 8 {
		t.Fatalf("rules %+v", rules)
	}
	used := map[int]bool{}
	for i := range 8 {
		src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr(fmt.Sprintf("10.0.%d.2", i))
		want := fastpath.QueueOf(src, dst, queues)
		if back := fastpath.QueueOf(dst, src, queues); back != want {
			t.Errorf("QueueOf not symmetric: %d, %d", want, back)
		}
		used[want] = true
		if rules.Out[i].Queue != want || rules.In[i].Queue != want || rules.Out[i].Dst != netip.PrefixFrom(dst, 32) {
			t.Errorf("SA %d: rules %+v / %+v, want queue %d", i, rules.Out[i], rules.In[i], want)
		}
		pkt := udpPacket(src.String(), dst.String(), 100)
		for q := range queues {
			out, err := p.Queue(q).Protect(pkt, 0, 0)
			switch {
			case q == want && err != nil:
				t.Errorf("SA %d on its queue %d: %v", i, q, err)
			case q != want && (!errors.Is(err, fastpath.ErrWrongQueue) || out.Queue != want):
				t.Errorf("SA %d on queue %d: %+v, %v; want ErrWrongQueue naming %d", i, q, out, err, want)
			}
		}
	}
	if len(used) < 2 {
		t.Errorf("8 SAs all on one queue of %d: %v", queues, used)
	}
	// Packets for no SA go through any queue.
	for q := range queues {
		if out, err := p.Queue(q).Protect(udpPacket("192.0.2.1", "192.0.2.2", 60), 0, 0); err != nil || out.Sealed {
			t.Errorf("clear on queue %d: %+v, %v", q, out, err)
		}
	}
}

// MTU: Protect refuses exactly the packets that would not fit once sealed, and Fits is the
// longest that does, for every kind of overhead.
func TestMTU(t *testing.T) {
	const (
		cbc    = `enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 128`
		hmac1  = `auth 'hmac(sha1)' 0x000102030405060708090a0b0c0d0e0f10111213`
		bundle = `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x309 reqid 9 ` + cbc + "\n" +
			`src 192.0.2.1 dst 198.51.100.1 proto ah spi 0x30a reqid 9 ` + hmac1 + "\n" +
			`ip xfrm policy add src 192.0.2.1/32 dst 198.51.100.1/32 dir out tmpl proto esp reqid 9 tmpl proto ah reqid 9`
	)
	for _, c := range []struct {
		name, sa, src, dst string
		step               int // the padding step: the longest sealed packet is within it of the MTU
	}{
		{"transport-v4", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x301 aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`, "192.0.2.1", "198.51.100.1", 4},
		{"natt-v4-icv8", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x302 aead 'rfc4106(gcm(aes))' ` + key128 + ` 64 encap espinudp 4500 4500 0.0.0.0`, "192.0.2.1", "198.51.100.1", 4},
		{"tunnel-v6-over-v4", `src 192.0.2.1 dst 203.0.113.9 proto esp spi 0x303 mode tunnel aead 'rfc4106(gcm(aes))' ` + key128 + ` 128 sel src 2001:db8:1::/48 dst 2001:db8:2::/48`, "2001:db8:1::1", "2001:db8:2::1", 4},
		{"transport-v6", `src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x304 aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`, "2001:db8::1", "2001:db8::2", 4},
		{"cbc-transport-v4", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x305 ` + cbc, "192.0.2.1", "198.51.100.1", 16},
		{"cbc-tunnel-v6", `src 2001:db8::1 dst 2001:db8::2 proto esp spi 0x306 mode tunnel ` + cbc + ` sel src 2001:db8:1::/48 dst 2001:db8:2::/48`, "2001:db8:1::1", "2001:db8:2::1", 16},
		{"ah-transport-v4", `src 192.0.2.1 dst 198.51.100.1 proto ah spi 0x307 ` + hmac1, "192.0.2.1", "198.51.100.1", 1},
		{"ah-tunnel-v6", `src 2001:db8::1 dst 2001:db8::2 proto ah spi 0x308 mode tunnel ` + hmac1 + ` sel src 2001:db8:1::/48 dst 2001:db8:2::/48`, "2001:db8:1::1", "2001:db8:2::1", 1},
		{"esp-ah-bundle-v4", bundle, "192.0.2.1", "198.51.100.1", 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			const mtu = 1400
			var col collector
			sas := parseConfig(t, c.sa)
			p, err := fastpath.New(col.config(fastpath.Config{SAs: sas.States, Bundles: sas.Bundles, MTU: mtu}))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			fits := 0
			for n := 1300; n <= 1400; n++ {
				out, err := p.Protect(udpPacket(c.src, c.dst, n), 0, 0)
				switch {
				case err == nil:
					if fits != 0 {
						t.Fatalf("%d bytes accepted after %d was refused", n, fits+1)
					}
				case errors.Is(err, fastpath.ErrMTU):
					if fits == 0 {
						fits = out.Fits
						if fits != n-1 {
							t.Fatalf("first refused at %d bytes, but Fits says %d", n, fits)
						}
					} else if out.Fits != fits {
						t.Fatalf("Fits %d at %d bytes, %d before", out.Fits, n, fits)
					}
					if out.SealedLen <= mtu {
						t.Fatalf("%d bytes refused, sealed %d", n, out.SealedLen)
					}
				default:
					t.Fatal(err)
				}
			}
			if fits == 0 {
				t.Fatal("nothing refused")
			}
			p.Flush()
			col.wait(t, fits-1300+1, 0)
			col.mu.Lock()
			defer col.mu.Unlock()
			longest := 0
			for _, f := range col.sealed {
				longest = max(longest, len(f))
			}
			if longest > mtu || longest <= mtu-c.step {
				t.Errorf("longest sealed packet %d bytes, MTU %d (want within the %d-byte padding step)", longest, mtu, c.step)
			}
			t.Logf("MTU %d: %d-byte packets fit (sealed %d)", mtu, fits, longest)
		})
	}
}

func TestNewErrors(t *testing.T) {
	good := `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x401 aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`
	for _, c := range []struct {
		cfg  fastpath.Config
		want string
	}{
		{fastpath.Config{Queues: 300}, "fastpath: 300 queues: want 1 to 256"},
		{fastpath.Config{Lanes: -1}, "fastpath: -1 lanes: want 1 to 256"},
		{fastpath.Config{Lanes: 2, Inline: true}, "fastpath: 2 lanes with Inline: an inline queue runs one lane on its owner's goroutine (use Queues for more)"},
		{fastpath.Config{MTU: 40}, "fastpath: MTU 40: want 68 to 65535"},
		// The xfrm parser refuses these within one file; New checks them for any list.
		{fastpath.Config{SAs: append(parse(t, good), parse(t, "\n"+good)...)}, "test.sa:2: SA 0x00000401: the same SA as on line 1"},
		{fastpath.Config{SAs: append(parse(t, good), parse(t, "\n"+strings.Replace(good, "192.0.2.1", "192.0.2.7", 1))...)},
			"test.sa:2: SA 0x00000401 (inbound): SPI and destination 198.51.100.1 already used on line 1"},
	} {
		p, err := fastpath.New(c.cfg)
		if err == nil {
			p.Close()
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("New(%+v): %v, want %q", c.cfg, err, c.want)
		}
	}
}

// Bridge mode: what no SA covers is the caller's to forward (ErrNoSA, nothing queued), and
// plain traffic that an inbound SA covers is refused (ErrPolicy).
func TestBridge(t *testing.T) {
	sas := parse(t, `src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x701 aead 'rfc4106(gcm(aes))`+"'"+` `+key128+` 128 dir out
src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x702 aead 'rfc4106(gcm(aes))`+"'"+` `+key128+` 128 dir in
src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x703 mode tunnel aead 'rfc4106(gcm(aes))`+"'"+` `+key128+` 128 sel src 10.2.0.0/16 dst 10.1.0.0/16 dir in`)
	var col collector
	p, err := fastpath.New(col.config(fastpath.Config{SAs: sas, Bridge: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, c := range []struct {
		name    string
		pkt     []byte
		protect error
		unprot  error
	}{
		{"for the outbound SA", udpPacket("10.0.0.1", "10.0.0.2", 100), nil, fastpath.ErrNoSA},
		{"for no SA", udpPacket("10.0.0.1", "10.0.0.9", 100), fastpath.ErrNoSA, fastpath.ErrNoSA},
		{"plain, transport SA covers it", udpPacket("10.0.0.2", "10.0.0.1", 100), fastpath.ErrNoSA, fastpath.ErrPolicy},
		{"plain, tunnel selector covers it", udpPacket("10.2.3.4", "10.1.2.3", 100), fastpath.ErrNoSA, fastpath.ErrPolicy},
		{"not IP", []byte{1, 2, 3}, fastpath.ErrNoSA, fastpath.ErrNoSA},
	} {
		if _, err := p.Protect(c.pkt, 0, 0); !errors.Is(err, c.protect) {
			t.Errorf("%s: Protect: %v, want %v", c.name, err, c.protect)
		}
		if err := p.Unprotect(c.pkt, 0, 0); !errors.Is(err, c.unprot) {
			t.Errorf("%s: Unprotect: %v, want %v", c.name, err, c.unprot)
		}
	}
	p.Flush()
	col.wait(t, 1, 0)
	p.Stop()
	if st := p.Stats(); st.Sealed.Packets != 1 || st.Clear.Packets != 0 || st.Submitted != 0 {
		t.Errorf("sealed %d, clear %d, unprotect submitted %d; want 1, 0, 0", st.Sealed.Packets, st.Clear.Packets, st.Submitted)
	}
}
