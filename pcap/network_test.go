package pcap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestNetworkFindsIP checks the exact link and IP slices for every supported framing,
// and that both alias the frame.
func TestNetworkFindsIP(t *testing.T) {
	v4 := ipv4UDP(t, 100) // 128 bytes
	v6 := ipv6UDP(t, 64)  // 112 bytes
	v4small := ipv4UDP(t, 0)
	if len(v4) != 128 || len(v6) != 112 || len(v4small) != 28 {
		t.Fatalf("builder sizes %d %d %d", len(v4), len(v6), len(v4small))
	}
	lso := append([]byte(nil), v4...)
	lso[2], lso[3] = 0, 0 // total length 0, as LSO captures show it
	lso = append(lso, pattern(64, 9)...)
	sliced := ipv4UDP(t, 1000)[:60] // snaplen-truncated: header says 1028, 60 captured

	cases := []struct {
		name    string
		lt      LinkType
		frame   []byte
		linkLen int
		ip      []byte
	}{
		{"Ethernet IPv4", LinkTypeEthernet, ether(t, v4), 14, v4},
		{"Ethernet IPv6", LinkTypeEthernet, ether(t, v6), 14, v6},
		{"802.1Q IPv4", LinkTypeEthernet, etherVLAN(t, v4, layers.EthernetTypeDot1Q, 100), 18, v4},
		{"802.1Q IPv6", LinkTypeEthernet, etherVLAN(t, v6, layers.EthernetTypeDot1Q, 4094), 18, v6},
		{"QinQ 802.1ad IPv6", LinkTypeEthernet, etherVLAN(t, v6, layers.EthernetTypeQinQ, 10, 20), 22, v6},
		{"QinQ 0x9100 IPv4", LinkTypeEthernet, etherVLAN(t, v4, 0x9100, 10, 20), 22, v4},
		{"three tags IPv4", LinkTypeEthernet, etherVLAN(t, v4, layers.EthernetTypeQinQ, 1, 2, 3), 26, v4},
		{"Ethernet padding trimmed", LinkTypeEthernet, ether(t, v4small), 14, v4small},
		{"Ethernet FCS trimmed", LinkTypeEthernet, cat(ether(t, v6), []byte{0xde, 0xad, 0xbe, 0xef}), 14, v6},
		{"IPv4 total length 0 kept", LinkTypeEthernet, ether(t, lso), 14, lso},
		{"snaplen-truncated IPv4", LinkTypeEthernet, ether(t, sliced), 14, sliced},
		{"SLL IPv4", LinkTypeLinuxSLL, cat(sllHeader(0x0800), v4), 16, v4},
		{"SLL IPv6", LinkTypeLinuxSLL, cat(sllHeader(0x86dd), v6), 16, v6},
		{"SLL VLAN IPv4", LinkTypeLinuxSLL, cat(sllHeader(0x8100), vlanTag(7, 0x0800), v4), 20, v4},
		{"SLL padding trimmed", LinkTypeLinuxSLL, cat(sllHeader(0x0800), v4small, make([]byte, 18)), 16, v4small},
		{"SLL2 IPv6", LinkTypeLinuxSLL2, cat(sll2Header(0x86dd), v6), 20, v6},
		{"SLL2 IPv4", LinkTypeLinuxSLL2, cat(sll2Header(0x0800), v4), 20, v4},
		{"SLL2 VLAN IPv6", LinkTypeLinuxSLL2, cat(sll2Header(0x8100), vlanTag(7, 0x86dd), v6), 24, v6},
		{"Raw IPv4", LinkTypeRaw, v4, 0, v4},
		{"Raw IPv6", LinkTypeRaw, v6, 0, v6},
		{"DLT 12 IPv4", LinkTypeRawDLT12, v4, 0, v4},
		{"DLT 14 IPv6", LinkTypeRawDLT14, v6, 0, v6},
		{"LINKTYPE_IPV4", LinkTypeIPv4, v4, 0, v4},
		{"LINKTYPE_IPV6", LinkTypeIPv6, v6, 0, v6},
		{"Null LE 2 (gopacket Loopback)", LinkTypeNull, serialize(t, &layers.Loopback{Family: layers.ProtocolFamilyIPv4}, gopacket.Payload(v4)), 4, v4},
		{"Null BE 2", LinkTypeNull, cat(nullHeader(2, true), v4), 4, v4},
		{"Null LE 24", LinkTypeNull, cat(nullHeader(24, false), v6), 4, v6},
		{"Null LE 28", LinkTypeNull, cat(nullHeader(28, false), v6), 4, v6},
		{"Null LE 30", LinkTypeNull, cat(nullHeader(30, false), v6), 4, v6},
		{"Null BE 24", LinkTypeNull, cat(nullHeader(24, true), v6), 4, v6},
		{"Null BE 28", LinkTypeNull, cat(nullHeader(28, true), v6), 4, v6},
		{"Null BE 30", LinkTypeNull, cat(nullHeader(30, true), v6), 4, v6},
		{"Loop BE 2", LinkTypeLoop, cat(nullHeader(2, true), v4), 4, v4},
		{"Loop BE 24", LinkTypeLoop, cat(nullHeader(24, true), v6), 4, v6},
		{"Loop LE 2", LinkTypeLoop, cat(nullHeader(2, false), v4), 4, v4},
		{"Loop LE 28", LinkTypeLoop, cat(nullHeader(28, false), v6), 4, v6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			link, ip, err := Network(c.lt, c.frame)
			if err != nil {
				t.Fatalf("Network: %v", err)
			}
			if !bytes.Equal(link, c.frame[:c.linkLen]) {
				t.Errorf("link = %x\nwant %x", link, c.frame[:c.linkLen])
			}
			if cap(link) != c.linkLen {
				t.Errorf("cap(link) = %d, want %d (an append must not overwrite the IP packet)", cap(link), c.linkLen)
			}
			if !bytes.Equal(ip, c.ip) {
				t.Errorf("ip = %x\nwant %x", ip, c.ip)
			}
			if c.linkLen > 0 && &link[0] != &c.frame[0] {
				t.Error("link does not alias the frame")
			}
			if &ip[0] != &c.frame[c.linkLen] {
				t.Error("ip does not start right after the link header in the frame")
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	v4 := ipv4UDP(t, 8)
	v6 := ipv6UDP(t, 8)
	arp := serialize(t,
		&layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: make([]byte, 6), DstProtAddress: ip4B})
	eth := func(et uint16, rest []byte) []byte {
		return cat(macB, macA, []byte{byte(et >> 8), byte(et)}, rest)
	}
	cases := []struct {
		name  string
		lt    LinkType
		frame []byte
		is    error
		msg   string
	}{
		{"ARP", LinkTypeEthernet, arp, ErrNotIP, "not an IP packet: ethertype 0x0806"},
		{"LLDP", LinkTypeEthernet, eth(0x88cc, make([]byte, 46)), ErrNotIP, "not an IP packet: ethertype 0x88cc"},
		{"unknown ethertype", LinkTypeEthernet, eth(0x1234, make([]byte, 46)), ErrNotIP, "not an IP packet: ethertype 0x1234"},
		{"802.3 LLC", LinkTypeEthernet, eth(0x0026, make([]byte, 46)), ErrNotIP, "not an IP packet: 802.3/LLC frame (no ethertype)"},
		{"ARP behind VLAN", LinkTypeEthernet, eth(0x8100, cat(vlanTag(5, 0x0806), make([]byte, 28))), ErrNotIP, "not an IP packet: ethertype 0x0806"},
		{"SLL ARP", LinkTypeLinuxSLL, cat(sllHeader(0x0806), make([]byte, 28)), ErrNotIP, "not an IP packet: ethertype 0x0806"},
		{"SLL2 LLC", LinkTypeLinuxSLL2, cat(sll2Header(0x0004), make([]byte, 28)), ErrNotIP, "not an IP packet: 802.3/LLC frame (no ethertype)"},
		{"Raw version 5", LinkTypeRaw, cat([]byte{0x50}, v4[1:]), ErrNotIP, "not an IP packet: IP version 5 on link type Raw (101)"},
		{"IPv4 link, IPv6 packet", LinkTypeIPv4, v6, ErrNotIP, "not an IP packet: IP version 6 on link type IPv4 (228)"},
		{"IPv6 link, IPv4 packet", LinkTypeIPv6, v4, ErrNotIP, "not an IP packet: IP version 4 on link type IPv6 (229)"},
		{"Null family 7", LinkTypeNull, cat(nullHeader(7, false), v4), ErrNotIP, "not an IP packet: address family 7"},
		{"Loop family 10 (Linux AF_INET6)", LinkTypeLoop, cat(nullHeader(10, true), v6), ErrNotIP, "not an IP packet: address family 10"},
		{"802.11", 105, make([]byte, 40), ErrLinkType, "unsupported link type 802.11 (105)"},
		{"PPP", 9, make([]byte, 40), ErrLinkType, "unsupported link type PPP (9)"},
		{"277", 277, make([]byte, 40), ErrLinkType, "unsupported link type unknown (277)"},
		{"Ethernet 13 bytes", LinkTypeEthernet, make([]byte, 13), ErrShort, "frame too short: 13 bytes, Ethernet header needs 14"},
		{"Ethernet empty", LinkTypeEthernet, nil, ErrShort, "frame too short: 0 bytes, Ethernet header needs 14"},
		{"VLAN tag cut", LinkTypeEthernet, eth(0x8100, []byte{0, 5}), ErrShort, "frame too short: 16 bytes, VLAN tag needs 18"},
		{"second VLAN tag cut", LinkTypeEthernet, eth(0x88a8, cat(vlanTag(5, 0x8100), []byte{0, 5, 8})), ErrShort, "frame too short: 21 bytes, VLAN tag needs 22"},
		{"SLL 15 bytes", LinkTypeLinuxSLL, make([]byte, 15), ErrShort, "frame too short: 15 bytes, Linux SLL header needs 16"},
		{"SLL2 19 bytes", LinkTypeLinuxSLL2, make([]byte, 19), ErrShort, "frame too short: 19 bytes, Linux SLL2 header needs 20"},
		{"Null 3 bytes", LinkTypeNull, []byte{2, 0, 0}, ErrShort, "frame too short: 3 bytes, Null header needs 4"},
		{"Loop 2 bytes", LinkTypeLoop, []byte{0, 0}, ErrShort, "frame too short: 2 bytes, Loop header needs 4"},
		{"Raw empty", LinkTypeRaw, []byte{}, ErrShort, "frame too short: 0 bytes, an IP header needs 1"},
		{"IPv4 header cut", LinkTypeEthernet, ether(t, v4)[:14+19], ErrShort, "frame too short: 19 bytes, IPv4 header needs 20"},
		{"IPv6 header cut", LinkTypeLinuxSLL2, cat(sll2Header(0x86dd), v6[:39]), ErrShort, "frame too short: 39 bytes, IPv6 header needs 40"},
		{"Raw IPv4 header cut", LinkTypeRaw, v4[:10], ErrShort, "frame too short: 10 bytes, IPv4 header needs 20"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			link, ip, err := Network(c.lt, c.frame)
			if !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want one wrapping %v", err, c.is)
			}
			if err.Error() != c.msg {
				t.Errorf("err = %q\nwant  %q", err, c.msg)
			}
			if link != nil || ip != nil {
				t.Errorf("link, ip = %x, %x on error", link, ip)
			}
		})
	}
}

func TestSupported(t *testing.T) {
	want := map[LinkType]bool{0: true, 1: true, 12: true, 14: true, 101: true, 108: true, 113: true, 228: true, 229: true, 276: true}
	for lt := LinkType(0); lt < 1000; lt++ {
		if got := Supported(lt); got != want[lt] {
			t.Errorf("Supported(%d) = %v", lt, got)
		}
		_, _, err := Network(lt, nil)
		if got := !errors.Is(err, ErrLinkType); got != want[lt] {
			t.Errorf("Network(%d) err = %v, inconsistent with Supported", lt, err)
		}
	}
	names := map[LinkType]string{0: "Null", 1: "Ethernet", 12: "Raw", 14: "Raw", 101: "Raw", 108: "Loop", 113: "Linux SLL",
		228: "IPv4", 229: "IPv6", 276: "Linux SLL2", 105: "802.11", 9: "PPP", 300: "unknown", 255: "unknown"}
	for lt, name := range names {
		if got := lt.String(); got != name {
			t.Errorf("LinkType(%d).String() = %q, want %q", lt, got, name)
		}
	}
}

// TestSetIPVersion checks the exact header bytes after switching the IP version both ways.
func TestSetIPVersion(t *testing.T) {
	h := func(s string) []byte { return must(hex.DecodeString(s)) }
	mac := "02000000000b02000000000a"
	sll := "0000" + "0001" + "0006" + "02000000000a0000" // packet type, ARPHRD_ETHER, address length, address
	cases := []struct {
		name     string
		lt       LinkType
		in       []byte
		v6, v4   []byte // after SetIPVersion(true), then after SetIPVersion(false)
		noChange bool
	}{
		{"Ethernet", LinkTypeEthernet, h(mac + "0800"), h(mac + "86dd"), h(mac + "0800"), false},
		{"802.1Q", LinkTypeEthernet, h(mac + "8100" + "0064" + "0800"), h(mac + "8100" + "0064" + "86dd"), h(mac + "8100" + "0064" + "0800"), false},
		{"QinQ", LinkTypeEthernet, h(mac + "88a8" + "000a8100" + "0014" + "86dd"), h(mac + "88a8" + "000a8100" + "0014" + "86dd"), h(mac + "88a8" + "000a8100" + "0014" + "0800"), false},
		{"SLL", LinkTypeLinuxSLL, sllHeader(0x0800), h(sll + "86dd"), h(sll + "0800"), false},
		{"SLL VLAN", LinkTypeLinuxSLL, cat(sllHeader(0x8100), vlanTag(7, 0x0800)), h(sll + "8100" + "0007" + "86dd"), h(sll + "8100" + "0007" + "0800"), false},
		{"SLL2", LinkTypeLinuxSLL2, sll2Header(0x0800), h("86dd" + "0000" + "00000003" + "0001" + "04" + "06" + "02000000000a0000"), h("0800" + "0000" + "00000003" + "0001" + "04" + "06" + "02000000000a0000"), false},
		{"SLL2 VLAN", LinkTypeLinuxSLL2, cat(sll2Header(0x8100), vlanTag(7, 0x86dd)), h("8100" + "0000" + "00000003" + "0001" + "04" + "06" + "02000000000a0000" + "0007" + "86dd"), h("8100" + "0000" + "00000003" + "0001" + "04" + "06" + "02000000000a0000" + "0007" + "0800"), false},
		{"Null LE", LinkTypeNull, h("02000000"), h("18000000"), h("02000000"), false},
		{"Null BE", LinkTypeNull, h("00000002"), h("00000018"), h("00000002"), false},
		{"Null zero", LinkTypeNull, h("00000000"), h("18000000"), h("02000000"), false},
		{"Loop BE", LinkTypeLoop, h("00000002"), h("00000018"), h("00000002"), false},
		{"Loop zero", LinkTypeLoop, h("00000000"), h("00000018"), h("00000002"), false},
		{"Loop LE", LinkTypeLoop, h("02000000"), h("18000000"), h("02000000"), false},
		{"Raw", LinkTypeRaw, h("45000014"), nil, nil, true},
		{"Raw empty", LinkTypeRaw, []byte{}, nil, nil, true},
		{"DLT 12", LinkTypeRawDLT12, h("45"), nil, nil, true},
		{"DLT 14", LinkTypeRawDLT14, h("60"), nil, nil, true},
		{"LINKTYPE_IPV4", LinkTypeIPv4, h("45"), nil, nil, true},
		{"LINKTYPE_IPV6", LinkTypeIPv6, h("60"), nil, nil, true},
		{"802.11", 105, h(mac + "0800"), nil, nil, true},
		{"short Ethernet", LinkTypeEthernet, h(mac + "08"), nil, nil, true},
		{"short SLL", LinkTypeLinuxSLL, sllHeader(0x0800)[:15], nil, nil, true},
		{"short SLL2", LinkTypeLinuxSLL2, sll2Header(0x0800)[:19], nil, nil, true},
		{"short Null", LinkTypeNull, h("020000"), nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			link := append([]byte(nil), c.in...)
			if c.noChange {
				c.v6, c.v4 = c.in, c.in
			}
			SetIPVersion(c.lt, link, true)
			if !bytes.Equal(link, c.v6) {
				t.Errorf("ipv6: %x\nwant  %x", link, c.v6)
			}
			SetIPVersion(c.lt, link, false)
			if !bytes.Equal(link, c.v4) {
				t.Errorf("ipv4: %x\nwant  %x", link, c.v4)
			}
		})
	}

	// Keeping an IPv6 family that is already 28 or 30; switching to IPv4 writes 2 in the
	// same byte order.
	for _, c := range []struct{ in, v6, v4 string }{
		{"1c000000", "1c000000", "02000000"},
		{"0000001e", "0000001e", "00000002"},
		{"18000000", "18000000", "02000000"},
	} {
		link := h(c.in)
		SetIPVersion(LinkTypeNull, link, true)
		if hex.EncodeToString(link) != c.v6 {
			t.Errorf("Null %s -> IPv6: %x, want %s", c.in, link, c.v6)
		}
		SetIPVersion(LinkTypeNull, link, false)
		if hex.EncodeToString(link) != c.v4 {
			t.Errorf("Null %s -> IPv4: %x, want %s", c.in, link, c.v4)
		}
	}
}

// TestSetIPVersionThenNetwork: a header rewritten for IPv6 and put in front of an IPv6
// packet is parsed back as IPv6 with the same header, for every link type that has one.
func TestSetIPVersionThenNetwork(t *testing.T) {
	v4, v6 := ipv4UDP(t, 20), ipv6UDP(t, 20)
	for _, c := range []struct {
		lt    LinkType
		frame []byte
	}{
		{LinkTypeEthernet, ether(t, v4)},
		{LinkTypeEthernet, etherVLAN(t, v4, layers.EthernetTypeQinQ, 3, 4)},
		{LinkTypeLinuxSLL, cat(sllHeader(0x8100), vlanTag(9, 0x0800), v4)},
		{LinkTypeLinuxSLL2, cat(sll2Header(0x0800), v4)},
		{LinkTypeNull, cat(nullHeader(2, true), v4)},
		{LinkTypeLoop, cat(nullHeader(2, true), v4)},
	} {
		link, _, err := Network(c.lt, c.frame)
		if err != nil {
			t.Fatal(err)
		}
		out := cat(link, v6)
		SetIPVersion(c.lt, out[:len(link)], true)
		link2, ip, err := Network(c.lt, out)
		if err != nil || len(link2) != len(link) || !bytes.Equal(ip, v6) {
			t.Errorf("%v: after SetIPVersion: link %d bytes (want %d), ip ok %v, err %v", c.lt, len(link2), len(link), bytes.Equal(ip, v6), err)
		}
	}
}

func TestNetworkAllocs(t *testing.T) {
	frames := []struct {
		lt LinkType
		b  []byte
	}{
		{LinkTypeEthernet, etherVLAN(t, ipv4UDP(t, 10), layers.EthernetTypeDot1Q, 5)},
		{LinkTypeLinuxSLL2, cat(sll2Header(0x86dd), ipv6UDP(t, 10))},
		{LinkTypeNull, cat(nullHeader(30, false), ipv6UDP(t, 10))},
		{LinkTypeRaw, ipv4UDP(t, 10)},
		{LinkTypeEthernet, cat(macB, macA, []byte{0x08, 0x06}, make([]byte, 46))}, // ARP: a prebuilt error
	}
	n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			link, _, _ := Network(f.lt, f.b)
			SetIPVersion(f.lt, link, true)
			SetIPVersion(f.lt, link, false)
		}
	})
	if n != 0 {
		t.Errorf("Network + SetIPVersion: %v allocations per run, want 0", n)
	}
}

// EtherPayload: the protocol field and the rest of a cooked record; nothing for other link
// types, short records and protocol values that are not EtherTypes.
func TestEtherPayload(t *testing.T) {
	arp := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	sll := append([]byte{0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x08, 0x06}, arp...)
	sll2 := append([]byte{0x08, 0x06, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}, arp...)
	llc := append([]byte{0x00, 0x04}, sll2[2:]...)
	for _, c := range []struct {
		name  string
		lt    LinkType
		frame []byte
		et    uint16
		ok    bool
	}{
		{"SLL ARP", LinkTypeLinuxSLL, sll, 0x0806, true},
		{"SLL2 ARP", LinkTypeLinuxSLL2, sll2, 0x0806, true},
		{"SLL2 802.2 LLC", LinkTypeLinuxSLL2, llc, 0, false},
		{"SLL2 short", LinkTypeLinuxSLL2, sll2[:19], 0, false},
		{"Ethernet", LinkTypeEthernet, sll, 0, false},
	} {
		et, p, ok := EtherPayload(c.lt, c.frame)
		if et != c.et || ok != c.ok || (ok && !bytes.Equal(p, arp)) || (!ok && p != nil) {
			t.Errorf("%s: %#04x %x %v; want %#04x %x %v", c.name, et, p, ok, c.et, arp, c.ok)
		}
	}
}
