package stage_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// frameLargeFor frames a TCP large send for peer pr as the host does for LSO + IPsec
// (R-TX-6): IP header, the AH header when the SA has AH (its sequence number the first of
// the AH part's), the ESP header with the first ESP sequence number and IV room when it has
// ESP, a TCP header and n payload bytes, no ESP trailer and no ICV room.
func frameLargeFor(pr peer, n, mss int, seq, ahSeq uint32, h sa.Handle) (*packet.Buffer, []byte, suiteFrame) {
	hdr := 20
	if pr.v6 {
		hdr = 40
	}
	var f suiteFrame
	off := hdr
	if pr.ah != nil {
		f.ahOff, off = off, off+pr.ah.HeaderLen(pr.v6)
	}
	if pr.esp != nil {
		f.espOff, off = off, off+pr.esp.PayloadOffset()
	}
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	b := packet.NewBuffer(packet.LargeSize)
	fr := b.Append(off + 20 + n)
	first := byte(inet.ProtoESP)
	if pr.ah != nil {
		first = inet.ProtoAH
	}
	if pr.v6 {
		ipv6(fr, len(fr), first, "2001:db8::9", suiteDst6.String())
	} else {
		ipv4(fr, len(fr), first, "192.0.2.9", suiteDst4.String())
	}
	if pr.ah != nil {
		nh := byte(inet.ProtoTCP)
		if pr.esp != nil {
			nh = inet.ProtoESP
		}
		fr[f.ahOff], fr[f.ahOff+1] = nh, byte(pr.ah.HeaderLen(pr.v6)/4-2)
		binary.BigEndian.PutUint32(fr[f.ahOff+4:], pr.ahSPI)
		binary.BigEndian.PutUint32(fr[f.ahOff+8:], ahSeq)
		b.Tx.AhHeaderOffset = uint8(f.ahOff / 4)
	}
	if pr.esp != nil {
		esp.PutHeader(fr[f.espOff:], pr.espSPI, seq)
		b.Tx.EspHeaderOffset = uint8(f.espOff / 4)
	}
	tcp := fr[off:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 443)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	tcp[12], tcp[13] = 5<<4, 0x18 // ACK|PSH
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	b.Tx.OffloadHandle, b.Tx.MSS, b.Tx.NextHeader = uint64(h), uint32(mss), inet.ProtoTCP
	return b, payload, f
}

// R-TX-6, R-TX-7 with the issue 11 suites: LSO + IPsec works with AES-CBC (each segment's
// trailer padded to the 16-byte block), NULL, AH alone and ESP+AH: every segment gets its
// own ESP trailer and ICV, its own AH header and ICV, and its own sequence numbers, S+i in
// ESP's space and S'+i in AH's; the segments open with the peer's transforms and their TCP
// payloads rejoin to the large send's.
func TestSendLSOSuites(t *testing.T) {
	suites := []suiteSpec{suiteCBC128SHA1, suiteCBC256SHA256, suiteNULLSHA1, suiteAHSHA256, suiteAHGMAC128, suiteGCMAH, suiteCBCAH, suiteNULLAH}
	for i, s := range suites {
		for _, v6 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/v6=%v", s.name, v6), func(t *testing.T) {
				r := newRig(t, stage.SendConfig{})
				h, pr := addSuite(t, r.ctl, s, uint32(0x4400+i), false, v6, 0)
				const n, mss = 5321, 1000
				big, payload, f := frameLargeFor(pr, n, mss, 100, 200, h)
				out := r.run([]*packet.Buffer{big})
				if len(out) != (n+mss-1)/mss {
					t.Fatalf("%d segments, want %d", len(out), (n+mss-1)/mss)
				}
				var joined []byte
				for k, seg := range out {
					if seg.Tx.Failed() || int(seg.Tx.LSOSegment) != k+1 {
						t.Fatalf("segment %d: %v %v", k, seg.Tx.Reason, seg.Tx.LSOSegment)
					}
					fr := seg.Bytes()
					if pr.esp != nil {
						if got := esp.Seq(fr[f.espOff:]); got != uint32(100+k) {
							t.Errorf("segment %d: ESP sequence %d, want %d", k, got, 100+k)
						}
						if body := len(fr) - f.espOff - pr.esp.PayloadOffset() - pr.esp.ICVLen(); body%pr.esp.PadAlign() != 0 {
							t.Errorf("segment %d: ESP payload and trailer %d bytes, not a multiple of %d", k, body, pr.esp.PadAlign())
						}
					}
					if pr.ah != nil {
						if got := binary.BigEndian.Uint32(fr[f.ahOff+8:]); got != uint32(200+k) {
							t.Errorf("segment %d: AH sequence %d, want %d", k, got, 200+k)
						}
					}
					tcpSeg, nh := pr.open(t, fr, f, 0, 0)
					if nh != inet.ProtoTCP || binary.BigEndian.Uint32(tcpSeg[4:]) != uint32(1000+k*mss) {
						t.Fatalf("segment %d: next header %d, TCP sequence %d", k, nh, binary.BigEndian.Uint32(tcpSeg[4:]))
					}
					joined = append(joined, tcpSeg[20:]...)
				}
				if !bytes.Equal(joined, payload) {
					t.Error("segments do not rejoin to the payload")
				}
				if st := r.path.Stats(); st.Split != 1 || st.Segments != uint64(len(out)) || !st.Balanced() {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}
