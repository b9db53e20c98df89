//go:build linux

package live_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

// tcpAggregate is an Ethernet frame with an IPv4 or IPv6 TCP packet carrying payload
// (longer than any MTU here), with the flags given and its TCP checksum left as garbage:
// SendTCP must set what the kernel completes it from.
func tcpAggregate(dst, src []byte, v6 bool, flags byte, payload []byte) []byte {
	hdr := 20
	if v6 {
		hdr = 40
	}
	f := make([]byte, 14+hdr+20+len(payload))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	ip := f[14:]
	if v6 {
		binary.BigEndian.PutUint16(f[12:], 0x86dd)
		ip[0], ip[6], ip[7] = 0x60, 6, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(20+len(payload)))
		copy(ip[8:], []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
		copy(ip[24:], []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	} else {
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip[0], ip[6], ip[8], ip[9] = 0x45, 0x40, 64, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:], 100)
		copy(ip[12:], []byte{198, 18, 0, 1})
		copy(ip[16:], []byte{198, 19, 0, 1})
		inet.IPv4(ip[:20]).SetChecksum()
	}
	tcp := ip[hdr:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	binary.BigEndian.PutUint32(tcp[8:], 5)
	tcp[12], tcp[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	binary.BigEndian.PutUint16(tcp[16:], 0xbeef)
	copy(tcp[20:], payload)
	return f
}

// SendTCP sends an aggregate for the kernel to cut: with segmentation and checksum offloads
// off on the sending veth the kernel segments it and computes the checksums in software
// (a veth otherwise passes the aggregate whole, and checksums left to offload), and the far
// end receives 20 segments of 1000 bytes (the last 500) in order, each with its own IP
// length, identification and checksum, sequence number and valid TCP checksum, FIN and PSH
// on the last only, and the payload whole. IPv4 and IPv6.
func TestAggregateSenderTCP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := map[bool]string{false: "ipv4", true: "ipv6"}[v6]
		t.Run(name, func(t *testing.T) {
			e, a := aggregateEnv(t, true)
			r := openReceiver(t, e.p, 1, live.RecvOptions{Immediate: true})
			payload := make([]byte, 19500)
			for i := range payload {
				payload[i] = byte(i*13 + i>>8)
			}
			hdr := 20
			if v6 {
				hdr = 40
			}
			f := tcpAggregate(e.peer, e.s.HardwareAddr(), v6, 0x19, payload) // ACK PSH FIN
			if err := a.SendTCP(f, 14, hdr, 1000); err != nil {
				t.Fatal(err)
			}
			segs := recvAll(t, r, 20)
			var got []byte
			for i, s := range segs {
				ip := s[14:]
				tcp := ip[hdr:]
				n := len(tcp) - 20
				want := min(1000, len(payload)-i*1000)
				flags := byte(0x10)
				if i == 19 {
					flags = 0x19
				}
				if n != want || tcp[13] != flags || binary.BigEndian.Uint32(tcp[4:]) != 1000+uint32(i*1000) {
					t.Fatalf("segment %d: %d bytes of payload, flags %#x, seq %d; want %d, %#x, %d",
						i, n, tcp[13], binary.BigEndian.Uint32(tcp[4:]), want, flags, 1000+i*1000)
				}
				var pseudo uint32
				if v6 {
					if int(binary.BigEndian.Uint16(ip[4:])) != len(tcp) {
						t.Fatalf("segment %d: payload length %d, want %d", i, binary.BigEndian.Uint16(ip[4:]), len(tcp))
					}
					pseudo = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], 6, len(tcp))
				} else {
					if int(binary.BigEndian.Uint16(ip[2:])) != len(ip) || binary.BigEndian.Uint16(ip[4:]) != uint16(100+i) || inet.Finish(inet.Checksum(ip[:20], 0)) != 0 {
						t.Fatalf("segment %d: IPv4 total length %d (want %d), ID %d (want %d), or its header checksum wrong",
							i, binary.BigEndian.Uint16(ip[2:]), len(ip), binary.BigEndian.Uint16(ip[4:]), 100+i)
					}
					pseudo = inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], 6, len(tcp))
				}
				if inet.Finish(inet.Checksum(tcp, pseudo)) != 0 {
					t.Fatalf("segment %d: TCP checksum wrong", i)
				}
				got = append(got, tcp[20:]...)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("the segments' payloads are not the aggregate's")
			}
			if st := a.Stats(); st.Packets != 1 || st.Bytes != uint64(len(f)) {
				t.Errorf("stats %+v: want 1 aggregate of %d bytes", st, len(f))
			}
		})
	}
}

// aggregateEnv is a veth pair (newEnv) with an AggregateSender on Link[0] too, closed when
// the test ends; with offloadsOff the sending end's offloads are off (sendOffloadsOff).
func aggregateEnv(t *testing.T, offloadsOff bool) (*env, *live.AggregateSender) {
	t.Helper()
	e := newEnv(t, 1500, live.Options{})
	if offloadsOff {
		sendOffloadsOff(t, e)
	}
	var a *live.AggregateSender
	if err := e.p.InNS(0, func() (err error) { a, err = live.OpenAggregate(e.p.Link[0], live.Options{}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return e, a
}

// sendOffloadsOff turns segmentation and checksum offloads off on the sending end of e's
// veth pair, so that the kernel cuts aggregates and computes checksums in software (a veth
// otherwise passes an aggregate whole, its checksums left to offload).
func sendOffloadsOff(t *testing.T, e *env) {
	t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		if os.Getenv(netns.RequireEnv) == "1" {
			t.Fatalf("ethtool is not installed (apt-get install ethtool): %v", err)
		}
		t.Skipf("ethtool is not installed: %v", err)
	}
	if out, err := e.p.Cmd(0, "ethtool", "-K", e.p.Link[0], "tso", "off", "gso", "off", "tx", "off").CombinedOutput(); err != nil {
		t.Fatalf("ethtool: %v: %s", err, out)
	}
}

// SendTCP refuses what is not a TCP aggregate it can describe, and sends nothing.
func TestAggregateSenderRefuses(t *testing.T) {
	e, a := aggregateEnv(t, false)
	good := tcpAggregate(e.peer, e.s.HardwareAddr(), false, 0x10, make([]byte, 3000))
	badOffset := bytes.Clone(good)
	badOffset[14+20+12] = 2 << 4 // a TCP header of 8 bytes
	for _, c := range []struct {
		name             string
		f                []byte
		link, ipHdr, mss int
	}{
		{"short", good[:40], 14, 20, 1000},
		{"mss 0", good, 14, 20, 0},
		{"data offset 2", badOffset, 14, 20, 1000},
		{"IPv6 header length for IPv4", good, 14, 40, 1000},
	} {
		if err := a.SendTCP(c.f, c.link, c.ipHdr, c.mss); !errors.Is(err, live.ErrNotAggregate) {
			t.Errorf("%s: %v, want ErrNotAggregate", c.name, err)
		}
	}
	if st := a.Stats(); st.Packets != 0 {
		t.Errorf("stats %+v: want nothing sent", st)
	}
}

// Through a veth with its offloads on, an aggregate arrives whole, and a receiver with
// VNetHdr learns how it is to be cut (GSO type and size from its virtio-net header); an
// ordinary frame is no aggregate. TCP over IPv4 and IPv6 (SendTCP), and UDP (SendUDP); on
// both kinds of ring.
func TestRecvVNetHdr(t *testing.T) { ringKinds(t, testRecvVNetHdr) }

func testRecvVNetHdr(t *testing.T, immediate bool) {
	e, a := aggregateEnv(t, false)
	r := openReceiver(t, e.p, 1, live.RecvOptions{Immediate: immediate, Timeout: time.Millisecond, VNetHdr: true})
	payload := make([]byte, 9000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	v4 := tcpAggregate(e.peer, e.s.HardwareAddr(), false, 0x10, payload)
	v6 := tcpAggregate(e.peer, e.s.HardwareAddr(), true, 0x10, payload)
	udp := udpAggregate(e.peer, e.s.HardwareAddr(), payload)
	plain := make([]byte, 100)
	udpFrame(plain, e.peer, e.s.HardwareAddr(), 1)
	if err := a.SendTCP(v4, 14, 20, 1200); err != nil {
		t.Fatal(err)
	}
	if err := a.SendTCP(v6, 14, 40, 1100); err != nil {
		t.Fatal(err)
	}
	if err := a.SendUDP(udp, 14, 20, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Send([][]byte{plain}); err != nil {
		t.Fatal(err)
	}
	fs := make([]live.Frame, 8)
	var got []live.Frame
	var data [][]byte
	for deadline := time.Now().Add(hangGuard); len(got) < 4 && time.Now().Before(deadline); {
		n, err := r.Recv(fs, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs[:n] {
			got = append(got, f)
			data = append(data, bytes.Clone(f.Data))
		}
	}
	want := []struct {
		frame []byte
		gso   uint8
		size  uint16
	}{{v4, live.GSOTCPv4, 1200}, {v6, live.GSOTCPv6, 1100}, {udp, live.GSOUDPL4, 1000}, {plain, live.GSONone, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].GSO != w.gso || got[i].GSOSize != w.size || !bytes.Equal(data[i], w.frame) {
			t.Errorf("frame %d: %d bytes, GSO %d size %d; want the %d sent, GSO %d size %d",
				i, len(data[i]), got[i].GSO, got[i].GSOSize, len(w.frame), w.gso, w.size)
		}
	}
}

// udpAggregate is an Ethernet frame with an IPv4 UDP packet carrying payload, for the
// kernel to cut into datagrams (UDP GSO).
func udpAggregate(dst, src, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[6], ip[8], ip[9] = 0x45, 0x40, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], []byte{198, 18, 0, 1})
	copy(ip[16:], []byte{198, 19, 0, 1})
	inet.IPv4(ip[:20]).SetChecksum()
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], 40000)
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	return f
}

// An aggregate with an 802.1Q tag in its link header (linkLen 18) is cut with the tag on
// every segment: 5 segments of 1000 bytes, each tagged 100 (the receiving veth hands the
// tag over beside the frame, TP_STATUS_VLAN_VALID).
func TestAggregateSenderVLAN(t *testing.T) {
	e, a := aggregateEnv(t, true)
	r := openReceiver(t, e.p, 1, live.RecvOptions{Immediate: true})
	f := tcpAggregate(e.peer, e.s.HardwareAddr(), false, 0x10, make([]byte, 5000))
	tagged := append(append(append([]byte(nil), f[:12]...), 0x81, 0x00, 0x00, 100), f[12:]...)
	if err := a.SendTCP(tagged, 18, 20, 1000); err != nil {
		t.Fatal(err)
	}
	fs := make([]live.Frame, 16)
	var segs []live.Frame
	for deadline := time.Now().Add(hangGuard); len(segs) < 5 && time.Now().Before(deadline); {
		n, err := r.Recv(fs, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, fs[:n]...)
	}
	if len(segs) != 5 {
		t.Fatalf("%d segments, want 5", len(segs))
	}
	for i, s := range segs {
		tagged := s.Status&unix.TP_STATUS_VLAN_VALID != 0 && s.VLANTCI&0xfff == 100 ||
			binary.BigEndian.Uint16(s.Data[12:]) == 0x8100 && binary.BigEndian.Uint16(s.Data[14:])&0xfff == 100
		if !tagged || s.Len != 14+20+20+1000 {
			t.Errorf("segment %d: %d bytes, tag 100 %v; want 1054 bytes (untagged by the receiver) and the tag", i, s.Len, tagged)
		}
	}
}
