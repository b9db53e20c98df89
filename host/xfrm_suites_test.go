package host_test

import (
	"bytes"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

// hostConfig is the host configuration of an xfrm state of any suite (ParseConfig):
// State.Outbound or State.Inbound, which fill the AES-GCM/GMAC fields, addresses, mode,
// selector, NAT-T, ESN and the starting sequence number, plus the suite fields they leave
// out (Proto, AES-CBC/NULL, the HMAC and its key). This is the code replay and fastpath
// need (xfrm imports host, so host cannot import xfrm).
func hostConfig(st *xfrm.State, out bool) host.SAConfig {
	c := st.Inbound()
	if out {
		c = st.Outbound()
	}
	if st.Proto == xfrm.AH {
		c.Proto = host.AH
	}
	// A listing prints "sel src 0.0.0.0/0 dst 0.0.0.0/0" for a state without a selector;
	// as a host.Selector it would match every packet, so a transport SA would take traffic
	// for other peers. Both sides /0 means none.
	if s := c.Selector; s.Src.IsValid() && s.Dst.IsValid() && s.Src.Bits() == 0 && s.Dst.Bits() == 0 {
		c.Selector = host.Selector{}
	}
	switch st.Enc {
	case xfrm.EncAESCBC:
		c.Alg, c.Key = esp.AESCBC, append([]byte(nil), st.EncKey...)
	case xfrm.EncNull:
		c.Alg, c.Key = esp.NULL, nil
	}
	switch st.Auth {
	case xfrm.AuthSHA1:
		c.Integrity = esp.HMACSHA1_96
	case xfrm.AuthSHA256:
		c.Integrity = esp.HMACSHA256_128
	}
	if st.Auth != xfrm.NoAuth {
		c.AuthKey, c.ICVLen = append([]byte(nil), st.AuthKey...), 0
	}
	return c
}

// offloadConfig offloads every state of a ParseConfig result, each ESP+AH bundle as one
// SA (Sender.AddBundle, Receiver.AddBundle), the other states one by one, each in the
// directions its dir allows (both without one); an inbound SA is paired with the outbound
// SA of the same state for SaDeleteReq.
func offloadConfig(cfg *xfrm.Config, snd *host.Sender, rcv *host.Receiver) error {
	inBundle := map[int]bool{}
	for _, b := range cfg.Bundles {
		inBundle[b.ESP], inBundle[b.AH] = true, true
	}
	add := func(st, ahSt *xfrm.State) error {
		var out sa.Handle
		if st.Dir != xfrm.In {
			c := hostConfig(st, true)
			if ahSt != nil {
				a := hostConfig(ahSt, true)
				c.AH = &a
			}
			h, err := snd.AddSA(c)
			if err != nil {
				return err
			}
			out = h
		}
		if st.Dir != xfrm.Out {
			c := hostConfig(st, false)
			if ahSt != nil {
				a := hostConfig(ahSt, false)
				c.AH = &a
			}
			if _, err := rcv.AddSA(c, out); err != nil {
				return err
			}
		}
		return nil
	}
	for _, b := range cfg.Bundles {
		if err := add(&cfg.States[b.ESP], &cfg.States[b.AH]); err != nil {
			return err
		}
	}
	for i := range cfg.States {
		if !inBundle[i] {
			if err := add(&cfg.States[i], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Every state and bundle of xfrm/testdata/suites.sa (AES-GCM, AES-GMAC, AES-CBC with
// HMAC-SHA-1 and -SHA-256 (tunnel, ESN), NULL with both, AH, an ESP+AH bundle) goes through
// ParseConfigFile, hostConfig and offloadConfig into one NIC, both ways; a packet for each
// is sealed and delivered back byte for byte, and the bundle's packets carry AH then ESP.
func TestXfrmSuitesOffload(t *testing.T) {
	cfg, err := xfrm.ParseConfigFile("../xfrm/testdata/suites.sa")
	if err != nil {
		t.Fatal(err)
	}
	l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
	if err := offloadConfig(cfg, l.sender, l.receiver); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bundles) != 1 {
		t.Fatalf("%d bundles", len(cfg.Bundles))
	}
	var pkts [][]byte
	for i, st := range cfg.States {
		if i == cfg.Bundles[0].AH {
			continue
		}
		src, dst := st.Src.String(), st.Dst.String()
		if st.Mode == host.Tunnel {
			src, dst = "10.1.0.5", "10.14.0.6"
		}
		pkts = append(pkts, udpPacket(src, dst, i, 100+i*37))
	}
	sealed := l.seal(t, pkts)
	for i, f := range sealed {
		if f[9] != 50 && f[9] != 51 {
			t.Fatalf("packet %d left in clear (protocol %d)", i, f[9])
		}
		if bytes.Contains(f[12:20], []byte{198, 51, 100, 18}) && (f[9] != 51 || f[20] != 50) {
			t.Fatalf("bundle packet: protocol %d, AH next header %d, want 51 and 50", f[9], f[20])
		}
	}
	got := receiveAll(t, l, sealed)
	for i := range pkts {
		if !bytes.Equal(got[i], pkts[i]) {
			t.Fatalf("packet %d: delivered\n%x\nwant\n%x", i, got[i], pkts[i])
		}
	}
}
