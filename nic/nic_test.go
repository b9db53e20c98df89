package nic

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

// recorder is a bound host that keeps every status indication it receives.
type recorder struct {
	mu   sync.Mutex
	inds []StatusIndication
}

func (r *recorder) Status(ind StatusIndication) {
	r.mu.Lock()
	r.inds = append(r.inds, ind)
	r.mu.Unlock()
}

func (r *recorder) got() []StatusIndication {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]StatusIndication(nil), r.inds...)
}

func newNIC(t *testing.T, cfg Config) *NIC {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// espBundle is an AES-GCM-128 ESP bundle with valid key material.
func espBundle(inbound bool, spi uint32, dst string) sa.Bundle {
	b := sa.Bundle{
		NumExtHdrs: 1,
		SecAssoc: [2]sa.SecAssoc{{
			Operation:               ndis.OpESP,
			Spi:                     spi,
			EncryptionAlgorithm:     sa.Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20},
			AuthenticationAlgorithm: sa.Algorithm{Identifier: ndis.AuthAESGCM128},
		}},
		KeyData: []byte("0123456789abcdefSALT"),
		Dst:     netip.MustParseAddr(dst),
	}
	if b.Dst.Is6() {
		b.Flags |= ndis.SAIPv6
	}
	if inbound {
		b.Flags |= ndis.SAInbound
	}
	return b
}

// chain links bundles into an ADD_SA list.
func chain(bs ...sa.Bundle) (*AddSA, []*AddSA) {
	nodes := make([]*AddSA, len(bs))
	for i := range bs {
		nodes[i] = &AddSA{Bundle: bs[i]}
		if i > 0 {
			nodes[i-1].Next = nodes[i]
		}
	}
	return nodes[0], nodes
}

// R-CAP-1, R-CAP-6: the NIC reports its hardware capabilities and its current
// configuration from initialisation on, through the query OIDs.
func TestCapabilitiesAtInit(t *testing.T) {
	n := newNIC(t, DefaultConfig())
	var hw Capabilities
	if st, err := n.Request(ndis.OIDTCPOffloadHardwareCapabilities, &hw); st != ndis.StatusSuccess || err != nil {
		t.Fatalf("query hardware: %v %v", st, err)
	}
	want := Capabilities{
		Encapsulation: ndis.EncapsulationIEEE8023, IPv6Supported: true, IPv4Options: true,
		IPv6NonIPsecExtensionHeaders: true, Ah: true, Esp: true, AhEspCombined: true,
		Transport: true, Tunnel: true, TransportTunnelCombined: true, LsoSupported: true,
		ExtendedSequenceNumbers: true, UdpEsp: 1 | 2 | 4 | 8,
		AuthenticationAlgorithms: ndis.AuthSHA1 | ndis.AuthSHA256 | ndis.AuthAESGCM128 | ndis.AuthAESGCM192 | ndis.AuthAESGCM256,
		EncryptionAlgorithms: ndis.EncNone | ndis.EncAESGCM128 | ndis.EncAESGCM192 | ndis.EncAESGCM256 |
			ndis.EncAESCBC128 | ndis.EncAESCBC192 | ndis.EncAESCBC256,
		SaOffloadCapacity: 1024,
	}
	if hw != want {
		t.Errorf("hardware capabilities\n got %+v\nwant %+v", hw, want)
	}
	var cur CurrentConfig
	if st, _ := n.Request(ndis.OIDTCPOffloadCurrentConfig, &cur); st != ndis.StatusSuccess {
		t.Fatalf("query current: %v", st)
	}
	// The keywords ask for AH and ESP, and the hardware has both (issue 11).
	if cur.IPsecV2 != want || !cur.IPv4Ah || !cur.IPv4Esp || !cur.ESPAllowed(true) || !cur.ESPAllowed(false) ||
		!cur.AHAllowed(true) || !cur.AHAllowed(false) {
		t.Errorf("current configuration %+v", cur)
	}
	// Hardware without AH: the keywords' AH is left off, ESP alone is enabled.
	noAH := DefaultConfig()
	noAH.Hardware.Ah, noAH.Hardware.AhEspCombined = false, false
	cur = newNIC(t, noAH).QueryCurrentConfig()
	if cur.IPsecV2.Ah || cur.IPsecV2.AhEspCombined || cur.IPv4Ah || !cur.IPv4Esp || !cur.ESPAllowed(true) || cur.AHAllowed(false) {
		t.Errorf("current configuration without AH hardware %+v", cur)
	}
}

// R-CAP-2: an invalid keyword value is an error at init that names the keyword and value.
func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IPsecOffloadV2 = 9
	_, err := New(cfg)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "*IPsecOffloadV2") || !strings.Contains(err.Error(), "9") {
		t.Fatalf("got %v, want an ErrConfig naming *IPsecOffloadV2 and 9", err)
	}
	cfg = DefaultConfig()
	cfg.Hardware.EncryptionAlgorithms |= ndis.Enc3DESCBC
	if _, err := New(cfg); !errors.Is(err, ErrConfig) || err.Error() != "nic: EncryptionAlgorithms: 3_DES_CBC is a broken algorithm and is never advertised" {
		t.Fatalf("3DES in hardware: got %v", err)
	}
}

// R-CAP-2: the keyword file configures a NIC.
func TestNewFromFile(t *testing.T) {
	cfg, err := LoadConfig("testdata/ov2nic.conf")
	if err != nil {
		t.Fatal(err)
	}
	n := newNIC(t, cfg)
	if got := n.QueryHardwareCapabilities(); got != cfg.Hardware {
		t.Errorf("hardware %+v, want the file's %+v", got, cfg.Hardware)
	}
}

// R-CAP-3, R-CAP-4: OID_TCP_OFFLOAD_PARAMETERS changes the current configuration, and both
// bound hosts receive NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG with the new configuration; a
// host binding later gets that configuration in its bind parameters; ADD_SA then follows it.
func TestOffloadParametersIndicatesToEveryHost(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hardware.Ah, cfg.Hardware.AhEspCombined = false, false // a NIC without AH hardware
	n := newNIC(t, cfg)
	var h1, h2 recorder
	_, bp1, err := n.Bind(&h1)
	if err != nil {
		t.Fatal(err)
	}
	b2, bp2, _ := n.Bind(&h2)
	if bp1.DefaultOffloadConfiguration != n.QueryCurrentConfig() || bp2 != bp1 {
		t.Fatalf("bind parameters differ from the current configuration: %+v / %+v", bp1, bp2)
	}

	// Disable IPsecV2 for both families, keep it for IPv4 only.
	p := OffloadParameters{IPsecV2: IPsecV2Disabled, IPsecV2IPv4: IPsecV2ESPEnabled}
	st, err := n.Request(ndis.OIDTCPOffloadParameters, &p)
	if st != ndis.StatusSuccess || err != nil {
		t.Fatalf("OID_TCP_OFFLOAD_PARAMETERS: %v %v", st, err)
	}
	want := bp1.DefaultOffloadConfiguration
	want.IPsecV2.Esp, want.IPv4Esp = false, true
	for i, h := range []*recorder{&h1, &h2} {
		got := h.got()
		if len(got) != 1 || got[0].StatusCode != ndis.StatusTaskOffloadCurrentConfig || got[0].Config != want ||
			got[0].Generation != 1 || got[0].Capabilities != n.QueryHardwareCapabilities() {
			t.Errorf("host %d indications %+v, want one CURRENT_CONFIG with %+v", i+1, got, want)
		}
	}
	if n.QueryCurrentConfig() != want {
		t.Errorf("query after change %+v", n.QueryCurrentConfig())
	}

	// A repeat of the same setting changes nothing and indicates nothing.
	if st, err := n.SetOffloadParameters(p); st != ndis.StatusSuccess || err != nil {
		t.Fatal(st, err)
	}
	// An invalid value is refused without an indication.
	st, err = n.SetOffloadParameters(OffloadParameters{IPsecV2: 5})
	if st != ndis.StatusInvalidParameter || !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("IPsecV2=5: %v %v", st, err)
	}
	// AH is not in the hardware.
	st, err = n.SetOffloadParameters(OffloadParameters{IPsecV2: IPsecV2AHAndESPEnabled})
	if st != ndis.StatusNotSupported || !errors.Is(err, ErrNotSupported) {
		t.Errorf("enable AH: %v %v", st, err)
	}
	if len(h1.got()) != 1 || len(h2.got()) != 1 {
		t.Errorf("unchanged or refused settings were indicated: %d / %d", len(h1.got()), len(h2.got()))
	}

	// R-CAP-4: the current configuration now allows ESP for IPv4 only.
	head, nodes := chain(espBundle(false, 0x10, "198.51.100.1"), espBundle(false, 0x11, "2001:db8::1"))
	if st, err := n.OIDAddSA(head); st != ndis.StatusSuccess || err != nil {
		t.Fatalf("ADD_SA: %v %v", st, err)
	}
	if nodes[0].OffloadHandle == 0 || nodes[1].OffloadHandle != 0 || !errors.Is(nodes[1].Err, sa.ErrDisabled) ||
		nodes[1].Err.Error() != "sa: offload disabled by the current configuration: ESP is disabled for IPv6" {
		t.Errorf("IPv4 handle %v, IPv6 handle %v err %v", nodes[0].OffloadHandle, nodes[1].OffloadHandle, nodes[1].Err)
	}

	// A host bound now starts from the new configuration; an unbound host hears nothing.
	var h3 recorder
	_, bp3, _ := n.Bind(&h3)
	if bp3.DefaultOffloadConfiguration != want || bp3.Generation != 1 {
		t.Errorf("late bind parameters %+v", bp3)
	}
	if err := b2.Unbind(); err != nil {
		t.Fatal(err)
	}
	if st, _ := n.SetOffloadParameters(OffloadParameters{IPsecV2IPv4: IPsecV2Disabled}); st != ndis.StatusSuccess {
		t.Fatal(st)
	}
	if len(h1.got()) != 2 || len(h2.got()) != 1 || len(h3.got()) != 1 {
		t.Errorf("indications after unbind: h1 %d h2 %d h3 %d, want 2 1 1", len(h1.got()), len(h2.got()), len(h3.got()))
	}
	// R-SA-8: disabling offload removes no SA; only the host's DELETE_SA does.
	if got := n.Controller().Snapshot().Len(); got != 1 {
		t.Errorf("%d SAs after disabling offload, want 1", got)
	}
	if cur := n.CurrentConfig(); cur.ESPAllowed(false) || cur.Enabled() {
		t.Errorf("offload still enabled after disabling both settings: %+v", cur)
	}
}

// R-CAP-5: a hardware-capability change is indicated to every bound host, with a
// CURRENT_CONFIG indication when the current configuration narrows with it; the capacity
// follows.
func TestHardwareCapabilitiesChange(t *testing.T) {
	n := newNIC(t, DefaultConfig())
	var h1, h2 recorder
	n.Bind(&h1)
	n.Bind(&h2)
	head, first := chain(espBundle(false, 1, "198.51.100.1"), espBundle(false, 2, "198.51.100.1"))
	if st, err := n.OIDAddSA(head); st != ndis.StatusSuccess {
		t.Fatal(st, err)
	}
	hw := n.QueryHardwareCapabilities()
	hw.IPv6Supported = false
	hw.SaOffloadCapacity = 2
	if err := n.SetHardwareCapabilities(hw); err != nil {
		t.Fatal(err)
	}
	// The current record embeds the capability fields, so it changes with the hardware:
	// HARDWARE_CAPABILITIES, then CURRENT_CONFIG, both carrying the new records.
	for i, h := range []*recorder{&h1, &h2} {
		got := h.got()
		if len(got) != 2 || got[0].StatusCode != ndis.StatusTaskOffloadHardwareCapabilities ||
			got[1].StatusCode != ndis.StatusTaskOffloadCurrentConfig || got[0].Capabilities != hw ||
			got[0].Config.IPsecV2 != hw || got[1].Config != got[0].Config || got[0].Generation != 1 || got[1].Generation != 2 {
			t.Errorf("host %d: %+v, want HARDWARE_CAPABILITIES then CURRENT_CONFIG", i+1, got)
		}
	}
	// Capacity 2 is reached: a third SA is refused; the two stay.
	head, nodes := chain(espBundle(false, 3, "198.51.100.1"))
	if st, _ := n.OIDAddSA(head); st != ndis.StatusResources || !errors.Is(nodes[0].Err, sa.ErrCapacity) {
		t.Errorf("third SA over capacity 2: %v %v", st, nodes[0].Err)
	}
	// IPv6 is gone from the hardware.
	head, nodes = chain(espBundle(false, 4, "2001:db8::4"))
	if st, _ := n.OIDAddSA(head); st != ndis.StatusNotSupported || nodes[0].Err.Error() != "sa: not in the NIC's capabilities: IPv6 is not supported" {
		t.Errorf("IPv6 after the change: %v %v", st, nodes[0].Err)
	}
	// Hardware losing ESP narrows the current configuration too: two indications.
	hw.Esp = false
	if err := n.SetHardwareCapabilities(hw); err == nil {
		t.Fatal("hardware without ESP accepted; Validate should refuse a NIC that cannot do ESP")
	}
	hw.Esp = true
	hw.ExtendedSequenceNumbers = false
	if err := n.SetHardwareCapabilities(hw); err != nil {
		t.Fatal(err)
	}
	got := h1.got()
	if len(got) != 4 || got[2].StatusCode != ndis.StatusTaskOffloadHardwareCapabilities || got[2].Generation != 3 ||
		got[3].Config.IPsecV2.ExtendedSequenceNumbers || got[3].Generation != 4 {
		t.Errorf("second change: %+v", got)
	}
	esn := espBundle(false, 5, "198.51.100.1")
	esn.SecAssoc[0].Flags = ndis.SAFlagESN
	if st, err := n.OIDDeleteSA(&DeleteSA{OffloadHandle: first[0].OffloadHandle}); st != ndis.StatusSuccess { // make room
		t.Fatal(st, err)
	}
	head, nodes = chain(esn)
	if st, _ := n.OIDAddSA(head); st != ndis.StatusNotSupported ||
		nodes[0].Err.Error() != "sa: not in the NIC's capabilities: SPI 0x00000005 asks for ESN, which is not advertised" {
		t.Errorf("ESN SA without ESN hardware: %v %v", st, nodes[0].Err)
	}
}

// R-SA-1..6 through the OID codes, as a host issues them: ADD_SA with a Next list where
// some bundles fail, ADD_SA_EX with keys at KeyOffset, UPDATE_SA on an SA without ESN,
// DELETE_SA with a stale handle, an unknown OID and a buffer of the wrong type.
func TestOIDRequests(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hardware.SaOffloadCapacity = 5
	cfg.Hardware.UdpEsp = ndis.UDPEspTransport
	// Hardware without AH and AES-CBC, so that their refusals show (issue 11 added both).
	cfg.Hardware.Ah, cfg.Hardware.AhEspCombined = false, false
	cfg.Hardware.EncryptionAlgorithms &^= ndis.EncAESCBC128 | ndis.EncAESCBC192 | ndis.EncAESCBC256
	n := newNIC(t, cfg)

	des := espBundle(false, 0x21, "198.51.100.1")
	des.SecAssoc[0].EncryptionAlgorithm.Identifier = ndis.EncDESCBC
	md5 := espBundle(false, 0x22, "198.51.100.1")
	md5.SecAssoc[0].EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
	md5.SecAssoc[0].AuthenticationAlgorithm = sa.Algorithm{Identifier: ndis.AuthMD5, KeyLength: 16}
	sha := espBundle(false, 0x23, "198.51.100.1")
	sha.SecAssoc[0].EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncAESCBC128, KeyLength: 16}
	sha.SecAssoc[0].AuthenticationAlgorithm = sa.Algorithm{Identifier: ndis.AuthSHA256, KeyLength: 32}
	ah := espBundle(false, 0x24, "198.51.100.1")
	ah.SecAssoc[0].Operation = ndis.OpAH
	combined := espBundle(false, 0x25, "198.51.100.1")
	combined.NumExtHdrs = 2
	combined.SecAssoc[1] = sa.SecAssoc{Operation: ndis.OpAH, Spi: 0x26}
	tunnelUDP := espBundle(false, 0x27, "198.51.100.1")
	tunnelUDP.UdpEspEncapsulation = ndis.UDPEspTunnel
	esn := espBundle(true, 0x28, "198.51.100.1")
	esn.SecAssoc[0].Flags = ndis.SAFlagESN
	plain := espBundle(true, 0x29, "198.51.100.1")

	head, nodes := chain(des, md5, sha, ah, combined, tunnelUDP, esn, plain)
	st, err := n.Request(ndis.OIDIPsecOffloadV2AddSA, head)
	if st != ndis.StatusSuccess || err != nil {
		t.Fatalf("ADD_SA: %v %v", st, err)
	}
	want := []string{
		"sa: algorithm not advertised: SPI 0x00000021: encryption algorithm DES_CBC (broken algorithm, never advertised)",
		"sa: algorithm not advertised: SPI 0x00000022: authentication algorithm MD5 (broken algorithm, never advertised)",
		"sa: algorithm not advertised: SPI 0x00000023: encryption algorithm AES_CBC_128",
		"sa: not in the NIC's capabilities: AH is not advertised",
		"sa: not in the NIC's capabilities: ESP and AH combined is not advertised",
		"sa: not in the NIC's capabilities: UDP-ESP encapsulation type 2 is not advertised",
		"",
		"",
	}
	for i, x := range nodes {
		switch {
		case want[i] == "" && (x.OffloadHandle == 0 || x.Err != nil):
			t.Errorf("bundle %d: handle %v err %v, want offloaded", i, x.OffloadHandle, x.Err)
		case want[i] != "" && (x.OffloadHandle != 0 || x.Err == nil || x.Err.Error() != want[i]):
			t.Errorf("bundle %d: handle %v err %v\nwant NULL and %s", i, x.OffloadHandle, x.Err, want[i])
		}
	}

	// ADD_SA_EX: key material inside the request buffer at KeyOffset.
	ex := &AddSAEx{Bundle: espBundle(false, 0x30, "198.51.100.1"), KeyOffset: 8, KeyLength: 20,
		Buffer: append(make([]byte, 8), []byte("0123456789abcdefSALT")...)}
	ex.KeyData = nil
	if st, err := n.Request(ndis.OIDIPsecOffloadV2AddSAEx, ex); st != ndis.StatusSuccess || ex.OffloadHandle == 0 {
		t.Fatalf("ADD_SA_EX: %v %v", st, err)
	}
	bad := &AddSAEx{Bundle: espBundle(false, 0x31, "198.51.100.1"), KeyOffset: 8, KeyLength: 20, Buffer: make([]byte, 27)}
	bad.KeyData = nil
	if st, err := n.Request(ndis.OIDIPsecOffloadV2AddSAEx, bad); st != ndis.StatusInvalidParameter ||
		err.Error() != "sa: malformed request: ADD_SA_EX KeyOffset 8 + KeyLength 20 runs past the 27-byte buffer" {
		t.Errorf("ADD_SA_EX out of range: %v %v", st, err)
	}

	// UPDATE_SA: accepted for the ESN SA, refused for the other.
	u := &sa.Update{OffloadHandle: nodes[6].OffloadHandle, Operation: ndis.OpESP, Spi: 0x28, SequenceNumberHighOrder: 1}
	if st, err := n.Request(ndis.OIDIPsecOffloadV2UpdateSA, u); st != ndis.StatusSuccess {
		t.Errorf("UPDATE_SA on ESN SA: %v %v", st, err)
	}
	u = &sa.Update{OffloadHandle: nodes[7].OffloadHandle, Operation: ndis.OpESP, Spi: 0x29, SequenceNumberHighOrder: 1}
	if st, err := n.Request(ndis.OIDIPsecOffloadV2UpdateSA, u); st != ndis.StatusInvalidParameter || !errors.Is(err, sa.ErrNoESN) {
		t.Errorf("UPDATE_SA on non-ESN SA: %v %v", st, err)
	}

	// DELETE_SA: the list deletes the valid handle and reports the stale one.
	stale := nodes[7].OffloadHandle
	if st, _ := n.Request(ndis.OIDIPsecOffloadV2DeleteSA, &DeleteSA{OffloadHandle: stale}); st != ndis.StatusSuccess {
		t.Fatal(st)
	}
	del := &DeleteSA{OffloadHandle: stale, Next: &DeleteSA{OffloadHandle: nodes[6].OffloadHandle}}
	st, err = n.Request(ndis.OIDIPsecOffloadV2DeleteSA, del)
	if st != ndis.StatusInvalidParameter || !errors.Is(err, sa.ErrStaleHandle) || !strings.Contains(err.Error(), stale.String()) {
		t.Errorf("DELETE_SA with stale handle: %v %v", st, err)
	}
	if n.Controller().Snapshot().Lookup(nodes[6].OffloadHandle) != nil {
		t.Error("the valid handle in the list was not deleted")
	}

	// Dispatch errors.
	if st, _ := n.Request(ndis.OID(0x12345678), nil); st != ndis.StatusInvalidOID {
		t.Errorf("unknown OID: %v", st)
	}
	if st, err := n.Request(ndis.OIDIPsecOffloadV2AddSA, &sa.Update{}); st != ndis.StatusInvalidData ||
		err.Error() != "nic: OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA: buffer of type *sa.Update" {
		t.Errorf("wrong buffer: %v %v", st, err)
	}
}

// R-CAP-6, R-SA-1: queries answer at any time, also while OIDs are being served.
func TestQueriesDuringOIDs(t *testing.T) {
	n := newNIC(t, DefaultConfig())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint32(1); i <= 200; i++ {
			head, _ := chain(espBundle(true, i, "198.51.100.1"))
			if st, err := n.OIDAddSA(head); st != ndis.StatusSuccess {
				t.Error(st, err)
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		if n.QueryHardwareCapabilities().SaOffloadCapacity != 1024 || !n.QueryCurrentConfig().ESPAllowed(false) {
			t.Fatal("query answered wrong while OIDs ran")
		}
	}
	wg.Wait()
	if got := n.Controller().Snapshot().Len(); got != 200 {
		t.Errorf("%d SAs, want 200", got)
	}
}
