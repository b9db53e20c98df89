package fastpath_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
)

// TestProtectLargeLinkHeaders: a large TCP send given with its Ethernet header comes back as
// its segments, each with that header (the segmenter hands the headroom on) and the large
// send's cookie; opened again, the segments carry the large send's payload in order, with
// the TCP flags split as LSO does (FIN and PSH on the last only). On lane goroutines and on
// an inline path, where ProtectLarge turns the queue itself: every segment has been
// through the callback when it returns, with a packet queued before it ahead of it.
func TestProtectLargeLinkHeaders(t *testing.T) {
	for _, c := range []struct {
		name, sa, src, dst string
	}{
		{"transport-v4", `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x201 mode transport aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`, "192.0.2.1", "198.51.100.1"},
		{"tunnel-v6", `src 2001:db8::1 dst 2001:db8::9 proto esp spi 0x202 mode tunnel aead 'rfc4106(gcm(aes))' ` + key128 + ` 128 sel src 2001:db8:1::/48 dst 2001:db8:2::/48`, "2001:db8:1::5", "2001:db8:2::6"},
	} {
		for _, inline := range []bool{false, true} {
			name := c.name + map[bool]string{false: "/lanes", true: "/inline"}[inline]
			t.Run(name, func(t *testing.T) { protectLarge(t, c.sa, c.src, c.dst, inline) })
		}
	}
}

func protectLarge(t *testing.T, sa, src, dst string, inline bool) {
	var col collector
	p := linkPath(t, &col, sa, inline)
	v6 := strings.Contains(src, ":")
	const mss, size = 1000, 20500 // 21 segments, the last of 500 bytes
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	small := append(ethHeader(1, v6), tcpSegment(src, dst, 1000, 0x10, payload[:100])...)
	large := append(ethHeader(2, v6), tcpSegment(src, dst, 5000, 0x19, payload)...) // ACK PSH FIN
	q := p.Queue(0)
	if _, err := q.Protect(small, 14, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := q.ProtectLarge(large, 14, mss, 2); err != nil {
		t.Fatal(err)
	}
	const want = 1 + (size+mss-1)/mss
	if inline {
		col.mu.Lock()
		got := len(col.sealed)
		col.mu.Unlock()
		if got != want {
			t.Fatalf("inline: %d packets through the callback when ProtectLarge returned, want %d", got, want)
		}
	}
	p.Flush()
	col.wait(t, want, 0)
	if col.failed != 0 {
		t.Fatalf("%d failed", col.failed)
	}
	for k, f := range col.sealed {
		i := 2
		if k == 0 {
			i = 1 // the small packet first: it was queued first (order kept on one SA)
		}
		if !bytes.Equal(f[:12], ethHeader(i, v6)[:12]) {
			t.Fatalf("sealed frame %d: link header %x, want the one of packet %d", k, f[:14], i)
		}
		if err := p.Unprotect(f, 14, uint64(k)); err != nil {
			t.Fatalf("unprotect %d: %v", k, err)
		}
	}
	p.Flush()
	if inline {
		q.Turn()
	}
	col.wait(t, want, want)
	if col.verdicts[host.Delivered] != want {
		t.Fatalf("verdicts %v", col.verdicts)
	}
	var got []byte
	hdr := 20
	if v6 {
		hdr = 40
	}
	for k, f := range col.opened {
		ip := f[14:]
		tcp := ip[hdr:]
		flags := tcp[13]
		seq := binary.BigEndian.Uint32(tcp[4:])
		if k == 0 {
			if !bytes.Equal(ip, small[14:]) {
				t.Fatal("the small packet changed")
			}
			continue
		}
		wantFlags := byte(0x10)
		if k == want-1 {
			wantFlags = 0x19
		}
		if flags != wantFlags || seq != 5000+uint32(len(got)) {
			t.Fatalf("segment %d: flags %#x seq %d, want %#x %d", k, flags, seq, wantFlags, 5000+len(got))
		}
		got = append(got, tcp[20:]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("the segments carry %d bytes, not the large send's %d", len(got), len(payload))
	}
	if st := p.Stats(); st.Sealed.Packets != want || st.Submitted != want || !st.Send.Balanced() || !st.Recv.Balanced() || st.Out[0].Protected.Packets != want {
		t.Errorf("stats: sealed %d, submitted to the receive path %d, balanced %v %v, the SA protected %d", st.Sealed.Packets, st.Submitted, st.Send.Balanced(), st.Recv.Balanced(), st.Out[0].Protected.Packets)
	}
}

// TestProtectLargeInlineLimit: on an inline path a large send that could be cut into more
// segments than the rings take between two turns is refused, saying so, and nothing is
// queued; on lane goroutines the same send goes through.
func TestProtectLargeInlineLimit(t *testing.T) {
	const sa = `src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x203 mode transport aead 'rfc4106(gcm(aes))' ` + key128 + ` 128`
	big := tcpSegment("192.0.2.1", "198.51.100.1", 1, 0x10, make([]byte, 60000))
	for _, inline := range []bool{false, true} {
		var col collector
		cfg := fastpath.Config{SAs: parse(t, sa), Inline: inline}
		p, err := fastpath.New(col.config(cfg))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Queue(0).ProtectLarge(big, 0, 100, 0) // 600 segments
		if inline {
			want := fmt.Sprintf("up to %d segments, more than the %d an inline path takes", (len(big)+99)/100, fastpath.MaxInlineSegments)
			if !errors.Is(err, host.ErrUnsupported) || !strings.Contains(err.Error(), want) {
				t.Errorf("inline: %v, want host.ErrUnsupported saying %q", err, want)
			}
			if st := p.Stats(); st.Submitted != 0 {
				t.Errorf("inline: %d submitted after a refused large send", st.Submitted)
			}
		} else {
			if err != nil {
				t.Errorf("lanes: %v", err)
			}
			p.Flush()
			col.wait(t, 600, 0)
		}
		p.Close()
	}
}
