package pcap

import (
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"
)

// TestRealCaptures reads the files in testdata, written by scapy, text2pcap and mergecap
// (see testdata/README.md), not by gopacket.
func TestRealCaptures(t *testing.T) {
	const (
		etherFirst = "02000000000b02000000000a0800450000260001000040118e8fc0000201c6336402119411940012961078787878787878787878"
		sll2First  = "08000000000000020001000602000000000a0000450000210005000040118e90c0000201c633640211941194000d817f7a7a7a7a7a"
		sllLast    = "00040001000602000000000c000086dd600000000008114020010db800000000000000000000000c20010db8000000000000000000000002000900090008a44c"
	)
	E, S, S2 := LinkTypeEthernet, LinkTypeLinuxSLL, LinkTypeLinuxSLL2
	for _, c := range []struct {
		file, format string
		first        LinkType
		links        []LinkType // per packet
		firstTime    time.Time
		firstData    string
		lastTime     time.Time
		lastData     string // "" when not checked
		ipLens       []int  // len(ip) from Network per packet, -1 for ErrNotIP
	}{
		{"scapy_ether.pcap", "pcap", E, []LinkType{E, E, E, E, E, E},
			time.Unix(1700000000, 1000), etherFirst, time.Unix(1700000003, 0), "",
			[]int{38, 68, 28, -1, 40, 29}},
		{"scapy_sll2_nano_be.pcap", "pcap", S2, []LinkType{S2, S2, S2},
			time.Unix(1700000003, 123456789), sll2First, time.Unix(1700000004, 1), "",
			[]int{33, 48, -1}},
		{"wireshark_mixed.pcapng", "pcapng", E, []LinkType{E, E, E, E, E, E, S, S},
			time.Unix(1700000000, 1000), etherFirst, time.Unix(1700000006, 750000000), sllLast,
			[]int{38, 68, 28, -1, 40, 29, 30, 48}},
	} {
		t.Run(c.file, func(t *testing.T) {
			r, err := Open("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Format() != c.format || r.LinkType() != c.first {
				t.Errorf("Format %q LinkType %v, want %q %v", r.Format(), r.LinkType(), c.format, c.first)
			}
			recs, err := readAll(t, r)
			if err != io.EOF {
				t.Fatalf("after %d packets: %v", len(recs), err)
			}
			if len(recs) != len(c.links) {
				t.Fatalf("%d packets, want %d", len(recs), len(c.links))
			}
			first := must(hex.DecodeString(c.firstData))
			checkRecords(t, recs[:1], []Record{{1, c.firstTime.UTC(), c.first, first, len(first)}})
			last := recs[len(recs)-1]
			if last.Index != uint64(len(recs)) || !last.Time.Equal(c.lastTime) {
				t.Errorf("last packet: Index %d Time %v, want %d %v", last.Index, last.Time, len(recs), c.lastTime)
			}
			if c.lastData != "" && hex.EncodeToString(last.Data) != c.lastData {
				t.Errorf("last packet data %x\nwant %s", last.Data, c.lastData)
			}
			for i, rec := range recs {
				if rec.Link != c.links[i] {
					t.Errorf("packet %d: Link %v, want %v", rec.Index, rec.Link, c.links[i])
				}
				if rec.OrigLen != len(rec.Data) {
					t.Errorf("packet %d: OrigLen %d, captured %d", rec.Index, rec.OrigLen, len(rec.Data))
				}
				_, ip, err := Network(rec.Link, rec.Data)
				got := len(ip)
				if errors.Is(err, ErrNotIP) {
					got = -1
				} else if err != nil {
					t.Errorf("packet %d: %v", rec.Index, err)
				}
				if got != c.ipLens[i] {
					t.Errorf("packet %d: IP length %d, want %d", rec.Index, got, c.ipLens[i])
				}
			}
		})
	}
}
