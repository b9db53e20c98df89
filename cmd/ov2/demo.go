package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/ov2dev/ov2/internal/inet"
	"io"
	"net/netip"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// The built-in round trip: one NIC talks to itself. The host offloads an AES-GCM-128 ESN
// SA and an AES-GMAC SA in both directions (same SPI and keys), frames plain UDP packets,
// and submits them to the send path; what the send path completes goes over an in-memory
// wire into the receive path; the host checks each indicated packet against the anti-replay
// window, decapsulates it, and compares it with what was sent. The ESN stream starts 64
// packets below 2^32, so both directions cross into the high half (UPDATE_SA).

var (
	demoSrc  = netip.MustParseAddr("192.0.2.1")
	demoDst  = netip.MustParseAddr("198.51.100.2") // the AES-GCM-128 ESN SA
	demoDst2 = netip.MustParseAddr("198.51.100.3") // the AES-GMAC SA
)

type report struct {
	impl                               string
	lanes                              int
	flows                              []host.SAConfig
	sent, delivered, mismatched, other uint64
	bytes                              uint64
	sendStats                          stage.SendStats
	recvStats                          stage.RecvStats
	updates                            uint64
	elapsed                            time.Duration
	deleted                            int
	bindConfig                         nic.CurrentConfig
}

type demoHost struct{}

func (demoHost) Status(nic.StatusIndication) {}

// demoSizes are the plain packet sizes, in turn.
var demoSizes = []int{64, 576, 1400}

// demoPacket is plain IPv4 UDP packet i, deterministic so the receiver can regenerate it
// from the index it carries; even packets go to the GCM SA, odd ones to the GMAC SA.
func demoPacket(i int, buf []byte) []byte {
	n := demoSizes[i%len(demoSizes)]
	p := buf[:n]
	p[0], p[1] = 0x45, 0
	binary.BigEndian.PutUint16(p[2:], uint16(n))
	binary.BigEndian.PutUint32(p[4:], 0)
	p[8], p[9] = 64, 17
	s, d := demoSrc.As4(), demoDst.As4()
	if i%2 == 1 {
		d = demoDst2.As4()
	}
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	inet.IPv4(p[:20]).SetChecksum()
	binary.BigEndian.PutUint16(p[20:], 4000+uint16(i%2))
	binary.BigEndian.PutUint16(p[22:], 9)
	binary.BigEndian.PutUint16(p[24:], uint16(n-20))
	binary.BigEndian.PutUint16(p[26:], 0)
	binary.BigEndian.PutUint64(p[28:], uint64(i))
	for k := 36; k < n; k++ {
		p[k] = byte(i) + byte(k)
	}
	return p
}

func roundTrip(cfg nic.Config, count, lanes int) (*report, error) {
	n, err := nic.New(cfg)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	_, bp, err := n.Bind(demoHost{})
	if err != nil {
		return nil, err
	}
	if !bp.DefaultOffloadConfiguration.ESPAllowed(false) {
		return nil, fmt.Errorf("the NIC's current configuration does not allow ESP for IPv4 (*IPsecOffloadV2 / *IPsecOffloadV2IPv4)")
	}
	hw := n.QueryHardwareCapabilities()
	env := stage.Env{SAs: n.Controller(),
		ESPAllowed: func(v6 bool) bool { return n.CurrentConfig().ESPAllowed(v6) },
		RxCaps: func() stage.RxCaps {
			return stage.RxCaps{IPv4Options: hw.IPv4Options, IPv6NonIPsecExtensionHeaders: hw.IPv6NonIPsecExtensionHeaders, UDPEsp: hw.UdpEsp}
		}}
	send, err := stage.NewSendPath(env, stage.Config{Lanes: lanes})
	if err != nil {
		return nil, err
	}
	recv, err := stage.NewRecvPath(env, stage.Config{Lanes: lanes})
	if err != nil {
		return nil, err
	}
	sender := host.NewSender(n, send)
	receiver, err := host.NewReceiver(n, 0)
	if err != nil {
		return nil, err
	}
	rep := &report{bindConfig: bp.DefaultOffloadConfiguration, lanes: lanes, flows: []host.SAConfig{
		{SPI: 0x1001, Alg: esp.AESGCM, Key: bytes.Repeat([]byte{0x11}, 16), Salt: [4]byte{1, 2, 3, 4}, ESN: true,
			StartSeq: 1<<32 - 64, Src: demoSrc, Dst: demoDst},
		{SPI: 0x2001, Alg: esp.AESGMAC, Key: bytes.Repeat([]byte{0x22}, 16), Salt: [4]byte{5, 6, 7, 8},
			Src: demoSrc, Dst: demoDst2},
	}}
	var handles []sa.Handle
	for _, c := range rep.flows {
		out, err := sender.AddSA(c)
		if err != nil {
			return nil, err
		}
		in, err := receiver.AddSA(c, out)
		if err != nil {
			return nil, err
		}
		handles = append(handles, out, in)
	}
	rep.impl = n.Controller().Snapshot().Lookup(handles[0]).Transform.Impl()

	// The wire, and the receiving host.
	go func() {
		buf := make([]*packet.Buffer, 64)
		var pass []*packet.Buffer
		for {
			k, err := send.Completions(buf)
			if err != nil {
				recv.Close()
				return
			}
			pass = pass[:0]
			for _, p := range buf[:k] {
				sender.Completed(p)
				if p.Tx.Failed() {
					p.Release()
					continue
				}
				pass = append(pass, p)
			}
			recv.Submit(pass)
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]*packet.Buffer, 64)
		want := make([]byte, 2048)
		var got []byte
		last := [2]int{-1, -1} // per SA: the index of the last packet delivered
		for {
			k, err := recv.Completions(buf)
			if err != nil {
				return
			}
			for _, p := range buf[:k] {
				var v host.Verdict
				got, v = receiver.Receive(p, got[:0])
				p.Release()
				if v != host.Delivered || len(got) < 36 {
					rep.other++
					continue
				}
				i := int(binary.BigEndian.Uint64(got[28:]))
				if i >= count || i <= last[i%2] || !bytes.Equal(got, demoPacket(i, want)) {
					rep.mismatched++ // changed, or out of order within its SA
					continue
				}
				last[i%2] = i
				rep.delivered++
				rep.bytes += uint64(len(got))
			}
		}
	}()

	start := time.Now()
	buf := make([]byte, 2048)
	for i := 0; i < count; i++ {
		if err := sender.Send(demoPacket(i, buf)); err != nil {
			return nil, err
		}
		rep.sent++
	}
	sender.Close()
	<-done
	rep.elapsed = time.Since(start)
	recv.Wait()
	send.Wait()
	rep.sendStats, rep.recvStats = send.Stats(), recv.Stats()
	rep.updates = sender.Updates()
	if st, ok := receiver.SAStats(handles[1]); ok {
		rep.updates += st.Updates
	}
	var del *nic.DeleteSA
	for _, h := range handles {
		del = &nic.DeleteSA{OffloadHandle: h, Next: del}
	}
	if _, err := n.OIDDeleteSA(del); err != nil {
		return nil, fmt.Errorf("DELETE_SA: %w", err)
	}
	rep.deleted = len(handles)
	return rep, nil
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "ov2 replay: built-in round trip (no input given)\n")
	fmt.Fprintf(w, "  NIC: ESP offload IPv4=%v IPv6=%v, capacity %d SAs, %d lanes each way (fused)\n",
		r.bindConfig.ESPAllowed(false), r.bindConfig.ESPAllowed(true), r.bindConfig.IPsecV2.SaOffloadCapacity, r.lanes)
	fmt.Fprintf(w, "  crypto: %s; CPU: %v\n", r.impl, esp.CPUFeatures())
	for _, f := range r.flows {
		fmt.Fprintf(w, "  SA 0x%08x %v-%d ESN=%v, first sequence number %#x\n", f.SPI, f.Alg, len(f.Key)*8, f.ESN, max(f.StartSeq, 1))
	}
	fmt.Fprintf(w, "  send path: %d packets in, %d sealed, %d failed\n", r.sendStats.Submitted, r.sendStats.Sealed, r.sendStats.FailedTotal())
	fmt.Fprintf(w, "  receive path: %d indicated, %d verified (CRYPTO_SUCCESS), %d not processed or failed\n",
		r.recvStats.Indicated, r.recvStats.Status[0], r.recvStats.Indicated-r.recvStats.Status[0])
	fmt.Fprintf(w, "  ESN: the stream crossed 2^32; %d UPDATE_SA requests (send and receive side)\n", r.updates)
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "  host: %d sent, %d delivered and equal, %d differ, %d not delivered (sizes %v bytes)\n",
		r.sent, r.delivered, r.mismatched, r.other, demoSizes)
	if secs > 0 {
		fmt.Fprintf(w, "  throughput: %.3f Mpps, %.2f Gbit/s, seal + open + checks, in %.2fs\n",
			float64(r.delivered)/secs/1e6, float64(r.bytes)*8/secs/1e9, secs)
	}
	fmt.Fprintf(w, "  DELETE_SA: %d SAs deleted, keys zeroed\n", r.deleted)
	if r.ok() {
		fmt.Fprintf(w, "round trip: OK (%d/%d packets)\n", r.delivered, r.sent)
	} else {
		fmt.Fprintf(w, "round trip: FAILED (%d/%d packets)\n", r.delivered, r.sent)
	}
}

func (r *report) ok() bool {
	return r.mismatched == 0 && r.other == 0 && r.delivered == r.sent && r.sendStats.Balanced() && r.recvStats.Balanced()
}
