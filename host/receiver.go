package host

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ov2dev/ov2/antireplay"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
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
}

type inSA struct {
	cfg     SAConfig
	handle  sa.Handle
	paired  sa.Handle // outbound SA deleted with it on SaDeleteReq
	win     *antireplay.Window
	nicHi   uint32 // the high half the NIC holds: its window top's when last told (ADD_SA, UPDATE_SA)
	deleted bool
	stats   InStats
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
	r.sas[req.OffloadHandle] = &inSA{cfg: cfg, handle: req.OffloadHandle, paired: paired, win: win,
		nicHi: cfg.seqHi(true)}
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
	frame := p.Bytes()
	rx := &p.Rx
	if !rx.CryptoDone {
		l := rxparse.Parse(frame)
		if l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP {
			return NotOffloaded, dst
		}
		return Plain, append(dst, frame...)
	}
	in := r.sas[sa.Handle(rx.Handle)]
	if in != nil && rx.SaDeleteReq {
		r.deleteReq(in)
	}
	if rx.CryptoStatus != ndis.CryptoSuccess {
		if in != nil {
			in.stats.Status[rx.CryptoStatus]++
		}
		return CryptoFailed, dst
	}
	if in == nil { // an SA the host did not add through this receiver: nothing to check against
		return NotOffloaded, dst
	}
	l := rxparse.Parse(frame)
	seq := uint64(rx.SeqHi)<<32 | uint64(esp.Seq(frame[l.ESP:]))
	if !in.cfg.ESN {
		seq = uint64(uint32(seq))
	}
	switch err := in.win.Accept(seq); {
	case errors.Is(err, antireplay.ErrReplay):
		in.stats.Replayed++
		return Replayed, dst
	case errors.Is(err, antireplay.ErrTooOld):
		in.stats.TooOld++
		return TooOld, dst
	}
	in.stats.Status[ndis.CryptoSuccess]++
	if hi := uint32(in.win.Top() >> 32); in.cfg.ESN && hi > in.nicHi {
		r.update(in, hi)
	}
	out, ok := decap(frame, &l, rx, in.cfg.ICVLen, dst)
	if !ok {
		return Undecodable, dst
	}
	in.stats.Packets++
	in.stats.Bytes += uint64(len(out) - len(dst))
	return Delivered, out
}

// update tells the NIC the new high half once the window's top has moved into it, so the
// NIC's inference reference keeps up (R-RX-8, R-SA-6).
func (r *Receiver) update(in *inSA, hi uint32) {
	u := &sa.Update{OffloadHandle: in.handle, Operation: ndis.OpESP, Spi: in.cfg.SPI, SequenceNumberHighOrder: hi}
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

// decap turns a verified ESP packet into what it carries: in tunnel mode the inner IP
// packet; in transport mode the IP header (protocol/next header and lengths rewritten)
// followed by the payload. The NIC decrypted in place and left the trailer's facts in the
// header info (R-RX-6).
func decap(frame []byte, l *rxparse.Layout, rx *packet.RxInfo, icv int, dst []byte) ([]byte, bool) {
	start := l.ESP + esp.HeaderLen + esp.IVLen
	end := l.End - icv - int(rx.PadLength) - esp.TrailerLen
	if !rx.HeaderInfoSet || end < start {
		return dst, false
	}
	if rx.NextCryptoDone {
		return dst, false // tunnel + transport combined: not decapsulated by this host model
	}
	payload := frame[start:end]
	if rx.NextHeader == inet.ProtoIPv4 || rx.NextHeader == inet.ProtoIPv6 {
		return append(dst, payload...), true
	}
	if l.IPv6ExtHeaders {
		return dst, false
	}
	hdr := l.L4 // the IP header (IPv4 with options, or the IPv6 fixed header)
	n := len(dst)
	dst = append(dst, frame[:hdr]...)
	dst = append(dst, payload...)
	h := dst[n:]
	total := hdr + len(payload)
	if l.IPv6 {
		binary.BigEndian.PutUint16(h[4:], uint16(total-40))
		h[6] = rx.NextHeader
	} else {
		binary.BigEndian.PutUint16(h[2:], uint16(total))
		h[9] = rx.NextHeader
		putIPv4Checksum(h[:hdr])
	}
	return dst, true
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
