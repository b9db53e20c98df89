package host

import (
	"fmt"

	"github.com/ov2dev/ov2/antireplay"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// Verdict is what the host did with one indicated packet.
type Verdict uint8

// Verdicts. Every indicated packet gets exactly one, and each is counted.
const (
	Delivered    Verdict = iota // IPsec verified, sequence accepted, inner packet delivered
	Plain                       // not IPsec: delivered as received
	NotOffloaded                // ESP the NIC did not process (no SA, capability, disabled): dropped (a real host would fall back to software)
	CryptoFailed                // the NIC's CryptoStatus was not success: dropped
	Replayed                    // duplicate sequence number (RFC 4303 §3.4.3): dropped
	TooOld                      // below the anti-replay window: dropped
	Undecodable                 // verified, but the host cannot decapsulate it (e.g. IPv6 extension headers before ESP)
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{"delivered", "plain", "not-offloaded", "crypto-failed", "replayed", "too-old", "undecodable"}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// InStats are one inbound SA's counters.
type InStats struct {
	Packets, Bytes   uint64 // delivered
	Status           [ndis.CryptoInvalidProtocol + 1]uint64
	Replayed, TooOld uint64
	Updates          uint64 // UPDATE_SA requests for this SA
}

// Receiver is the host's receive half: it takes the packets the NIC indicates, checks
// sequence numbers against an anti-replay window per inbound SA (after the NIC verified
// the ICV, R-RX-9), keeps the NIC told of the ESN high half (UPDATE_SA), decapsulates, and
// reacts to SaDeleteReq by deleting the inbound SA and its paired outbound SA (R-RX-7).
// One goroutine uses a Receiver.
type Receiver struct {
	nic      *nic.NIC
	window   int
	sas      map[sa.Handle]*inSA
	verdicts [NumVerdicts]uint64
	deletes  uint64
	parts    map[partKey]*inSA // by outer SPI, for the inner part of combined packets (recvsuites.go)
	at       where             // where the packet being received delivers (accept)
	checks   []seqCheck        // accept's anti-replay checks, reused
}

type inSA struct {
	cfg     SAConfig
	handle  sa.Handle
	paired  sa.Handle // outbound SA deleted with it on SaDeleteReq
	win     *antireplay.Window
	nicHi   uint32 // the high half the NIC holds: its window top's when last told (ADD_SA, UPDATE_SA)
	deleted bool
	stats   InStats
	ah      *inAH // an ESP+AH bundle's AH part (recvsuites.go); nil otherwise
}

// NewReceiver makes a receiver with anti-replay windows of the given size (0 means
// antireplay.DefaultSize, 1024; up to antireplay.MaxSize).
func NewReceiver(n *nic.NIC, window int) (*Receiver, error) {
	if window == 0 {
		window = antireplay.DefaultSize
	}
	if _, err := antireplay.New(window, false); err != nil {
		return nil, err
	}
	return &Receiver{nic: n, window: window, sas: map[sa.Handle]*inSA{}}, nil
}

// AddSA offloads an inbound SA (ADD_SA with the INBOUND flag): cfg.Dst is this host's
// address, the key of the NIC's lookup with the SPI. paired, if not 0, is the outbound SA
// to delete with it when the NIC asks (SaDeleteReq).
func (r *Receiver) AddSA(cfg SAConfig, paired sa.Handle) (sa.Handle, error) {
	if err := cfg.normalize(); err != nil {
		return 0, err
	}
	size := r.window
	if cfg.ReplayWindow > 0 { // the bitmap is whole 64-bit blocks: a smaller window becomes 64
		size = max(cfg.ReplayWindow, 64)
	}
	win, err := antireplay.New(size, cfg.ESN)
	if err != nil {
		return 0, err
	}
	win.Start(cfg.StartSeq)
	req := &nic.AddSA{Bundle: bundleOf(&cfg, true)}
	if st, err := r.nic.OIDAddSA(req); st != ndis.StatusSuccess {
		return 0, fmt.Errorf("host: ADD_SA (inbound) for SPI 0x%08x: %v: %w", cfg.SPI, st, err)
	}
	in := &inSA{cfg: cfg, handle: req.OffloadHandle, paired: paired, win: win, nicHi: cfg.seqHi(true)}
	if err := r.register(in, size); err != nil {
		r.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: in.handle})
		return 0, err
	}
	r.sas[req.OffloadHandle] = in
	return req.OffloadHandle, nil
}

// Receive handles one packet the NIC indicated: it appends what the host delivers (the
// inner packet, or the packet itself when it is not IPsec) to dst and returns it with the
// verdict. The packet's bytes are not kept.
func (r *Receiver) Receive(p *packet.Buffer, dst []byte) ([]byte, Verdict) {
	v, out := r.receive(p, dst)
	r.verdicts[v]++
	return out, v
}

func (r *Receiver) receive(p *packet.Buffer, dst []byte) (Verdict, []byte) {
	v, _, in := r.check(p)
	switch v {
	case Plain:
		return Plain, append(dst, p.Bytes()...)
	case Delivered:
	default:
		return v, dst
	}
	out, ok := decap(p.Bytes(), &r.at, dst)
	if !ok {
		return Undecodable, dst
	}
	in.stats.Packets++
	in.stats.Bytes += uint64(len(out) - len(dst))
	return Delivered, out
}

// ReceiveInPlace is Receive that leaves what the host delivers in p itself instead of
// appending it to a slice: on Delivered, p's frame becomes the inner packet, decapsulated
// in place (in tunnel mode the inner packet is trimmed out; in transport mode the IP
// header moves up over the ESP header, with its length and protocol rewritten); on Plain
// the frame is left as it is. It does not allocate.
func (r *Receiver) ReceiveInPlace(p *packet.Buffer) Verdict {
	v, _, in := r.check(p)
	if v == Delivered {
		n, ok := decapInPlace(p, &r.at)
		if !ok {
			v = Undecodable
		} else {
			in.stats.Packets++
			in.stats.Bytes += uint64(n)
		}
	}
	r.verdicts[v]++
	return v
}

// check runs the host's checks on an indicated packet: every verdict but the
// decapsulation's. For Delivered it returns the packet's layout and its SA.
func (r *Receiver) check(p *packet.Buffer) (Verdict, rxparse.Layout, *inSA) {
	frame := p.Bytes()
	rx := &p.Rx
	if !rx.CryptoDone {
		l := rxparse.Parse(frame)
		if l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP || l.Kind == rxparse.KindAH {
			return NotOffloaded, l, nil
		}
		return Plain, l, nil
	}
	in := r.sas[sa.Handle(rx.Handle)]
	if in != nil && rx.SaDeleteReq {
		r.deleteReq(in)
	}
	if rx.CryptoStatus != ndis.CryptoSuccess {
		if in != nil {
			in.stats.Status[rx.CryptoStatus]++
		}
		return CryptoFailed, rxparse.Layout{}, nil
	}
	if in == nil { // an SA the host did not add through this receiver: nothing to check against
		return NotOffloaded, rxparse.Layout{}, nil
	}
	l := rxparse.Parse(frame)
	if v := r.accept(in, frame, rx, &l); v != Delivered { // anti-replay per part (recvsuites.go)
		return v, l, nil
	}
	return Delivered, l, in
}

// update tells the NIC the new high half once the window's top has moved into it, so the
// NIC's inference reference keeps up (R-RX-8, R-SA-6).
func (r *Receiver) update(in *inSA, hi uint32) {
	u := &sa.Update{OffloadHandle: in.handle, Operation: in.cfg.op(), Spi: in.cfg.SPI, SequenceNumberHighOrder: hi}
	if st, _ := r.nic.OIDUpdateSA(u); st == ndis.StatusSuccess {
		in.nicHi = hi
		in.stats.Updates++
	}
}

// deleteReq answers SaDeleteReq (R-RX-7): DELETE_SA once for the inbound SA, once for its
// paired outbound SA. The NIC never removes them on its own (R-SA-8).
func (r *Receiver) deleteReq(in *inSA) {
	if in.deleted {
		return
	}
	in.deleted = true
	r.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: in.handle})
	if in.paired != 0 {
		r.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: in.paired})
	}
	r.deletes++
}

// DeleteSA deletes the inbound SA h from the NIC (DELETE_SA) unless the host already did
// (SaDeleteReq), and forgets it: packets of it indicated later get the verdict
// NotOffloaded. Like Receive, it is for the receiver's goroutine.
func (r *Receiver) DeleteSA(h sa.Handle) error {
	in, ok := r.sas[h]
	if !ok {
		return fmt.Errorf("host: no inbound SA with handle %v", h)
	}
	delete(r.sas, h)
	r.unregister(in)
	if in.deleted {
		return nil
	}
	if st, err := r.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: h}); st != ndis.StatusSuccess {
		return fmt.Errorf("host: DELETE_SA (inbound) for SPI 0x%08x: %v: %w", in.cfg.SPI, st, err)
	}
	return nil
}

// Verdicts returns how many packets got each verdict.
func (r *Receiver) Verdicts() [NumVerdicts]uint64 { return r.verdicts }

// SAStats returns the counters of an inbound SA.
func (r *Receiver) SAStats(h sa.Handle) (InStats, bool) {
	in, ok := r.sas[h]
	if !ok {
		return InStats{}, false
	}
	return in.stats, true
}

// Deletes is how many SaDeleteReq the host acted on.
func (r *Receiver) Deletes() uint64 { return r.deletes }
