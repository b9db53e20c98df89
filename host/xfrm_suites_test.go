package host_test

import (
	"bytes"
	"testing"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

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
			c := st.Outbound()
			if ahSt != nil {
				a := ahSt.Outbound()
				c.AH = &a
			}
			h, err := snd.AddSA(c)
			if err != nil {
				return err
			}
			out = h
		}
		if st.Dir != xfrm.Out {
			c := st.Inbound()
			if ahSt != nil {
				a := ahSt.Inbound()
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
// ParseConfigFile, State.Outbound/Inbound and offloadConfig into one NIC, both ways; a packet for each
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
