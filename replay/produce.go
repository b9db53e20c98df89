package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/pcap"
)

// produce hands every packet of the input to its path, Loops times. The input is read
// once: the later loops (and in a round trip every loop, loadOriginals having read it)
// replay it from memory (memcapture.go).
func (r *run) produce(ctx context.Context) error {
	pc := &pacer{p: r.cfg.Pace}
	defer r.q.Flush()
	// tx frames packets under one hold of the queue's send lock for up to 32 of them; it
	// lets go before anything else that needs the queue or may wait (and first, when
	// produce returns: before the Flush above).
	tx := r.q.Sending()
	defer tx.Release()
	pass := make([]Frame, 0, 1)
	var firstLink pcap.LinkType
	haveLink := false
	// The progress display's count of packets read is published every so many packets
	// (and at the end), not with an atomic add per packet.
	const readEvery = 64
	unpublished := uint64(0)
	defer func() { r.readPkts.Add(unpublished) }()
	for loop := 0; loop < r.cfg.Loops; loop++ {
		rd, err := r.openLoop(loop, &r.held)
		if err != nil {
			return err
		}
		first := true
		_, inMemory := rd.(*heldReader)
		for {
			if !inMemory {
				tx.Release() // reading a file (or a pipe) may wait
			}
			rec, err := rd.Next()
			if err == io.EOF {
				r.held.complete = loop == 0 || r.held.complete
				break
			}
			if err != nil {
				rd.Close()
				return err
			}
			if r.stop.Load() { // one atomic load a packet: Ctrl-C ends any run at once
				rd.Close()
				return context.Cause(ctx)
			}
			if r.cfg.OneLink {
				if !haveLink {
					firstLink, haveLink = rec.Link, true
				} else if rec.Link != firstLink {
					rd.Close()
					return fmt.Errorf("%s: packet %d: link type %v differs from the first packet's %v, and a pcap output holds one link type: write pcapng (an output named .pcapng) to keep both",
						r.in.Name, rec.Index, rec.Link, firstLink)
				}
			}
			if r.cfg.Pace.Mode != TopSpeed {
				ts := rec.Time.UnixNano()
				if first {
					pc.nextLoop(ts)
				}
				if at := pc.due(ts, len(rec.Data)); at > packet.Now() {
					// Nothing waits in a host batch while the pacer sleeps.
					tx.Release()
					r.q.Flush()
					if !waitUntil(at, &r.stop) {
						rd.Close()
						return context.Cause(ctx)
					}
				}
			}
			first = false
			// Counted once taken: a packet whose due time an interrupt cut short was not read.
			r.prod.read.add(len(rec.Data))
			if unpublished++; unpublished == readEvery {
				r.readPkts.Add(unpublished)
				unpublished = 0
			}

			link, ip, err := pcap.Network(rec.Link, rec.Data)
			if rec.TruncatedByCapture() && (errors.Is(err, pcap.ErrShort) || err == nil && pcap.IPTruncated(ip)) {
				// The capture kept only the first bytes: the packet is incomplete, not
				// malformed. It goes out as it was captured, with its original length.
				r.passThrough(&pass, rec, "truncated by the capture (snaplen)")
				continue
			}
			if err != nil {
				if errors.Is(err, pcap.ErrLinkType) {
					// A pcapng interface of a link type that holds no IP ov2 reads (USB,
					// Bluetooth, NFLOG beside Ethernet ones): passed through as it is. A
					// capture whose first packet is of such a type was refused at the start.
					r.passThrough(&pass, rec, r.linkReason(rec.Link))
					continue
				}
				reason := "not IP"
				if errors.Is(err, pcap.ErrShort) {
					reason = "too short for its link or IP header"
				}
				r.passThrough(&pass, rec, reason)
				continue
			}
			id, err := r.intern(rec.Link, link)
			if err != nil {
				rd.Close()
				return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
			}
			cookie := cookieOf(rec.Index-1, id)

			l := rxparse.Parse(ip)
			if (l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP || l.Kind == rxparse.KindAH) && l.DstLen > 0 {
				switch err := r.q.Unprotect(ip, 0, cookie); {
				case errors.Is(err, fastpath.ErrNoSA) && l.Kind == rxparse.KindAH:
					r.passThrough(&pass, rec, "AH for no inbound SA")
				case errors.Is(err, fastpath.ErrNoSA):
					r.passThrough(&pass, rec, "ESP for no inbound SA")
				case errors.Is(err, packet.ErrTooBig):
					r.prod.drops["too big for a buffer"]++
				case err != nil:
					rd.Close()
					return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
				default:
					r.prod.decIn.add(len(ip))
				}
				continue
			}
			out, err := tx.Protect(ip, 0, cookie)
			large := false
			if errors.Is(err, host.ErrTooBig) && isTCP(ip) && len(ip) <= packet.LargeSize {
				// A GSO/TSO-sized TCP packet: one LSO + IPsec large send.
				large = true
				out, err = tx.ProtectLarge(ip, 0, r.cfg.MSS, cookie|cookieLSO)
			}
			switch {
			case err == nil:
				if large {
					r.prod.large++
				}
				if !out.Sealed {
					r.prod.clearIn.add(len(ip))
				} else {
					r.prod.encIn.add(len(ip))
				}
			case errors.Is(err, host.ErrNotIP):
				r.passThrough(&pass, rec, "malformed IP header")
			case errors.Is(err, host.ErrTooBig) && large:
				// Only a packet for no SA gets here from a large send: it is clear traffic.
				r.passThrough(&pass, rec, "too big for a packet buffer, for no SA")
			case errors.Is(err, host.ErrTooBig):
				r.prod.drops["too big for a packet buffer (not TCP: no large send)"]++
			case errors.Is(err, host.ErrSeqExhausted):
				r.prod.drops["sequence numbers exhausted (rekey needed)"]++
			case errors.Is(err, host.ErrOffloadDisabled):
				r.prod.drops["ESP offload disabled for the IP version"]++
			case errors.Is(err, host.ErrUnsupported):
				r.prod.drops["packet shape not supported by the host"]++
			default:
				rd.Close()
				return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
			}
		}
		rd.Close()
	}
	return nil
}

// isTCP says whether an IP packet's protocol is TCP (no IPv6 extension headers).
func isTCP(ip []byte) bool {
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		return ip[9] == 6
	case len(ip) >= 40 && ip[0]>>4 == 6:
		return ip[6] == 6
	}
	return false
}

// passThrough sends a record to the output unchanged.
// linkReason is the pass-through reason for a record of a link type ov2 does not read,
// made once per link type.
func (r *run) linkReason(lt pcap.LinkType) string {
	reason, ok := r.prod.linkReasons[lt]
	if !ok {
		if r.prod.linkReasons == nil {
			r.prod.linkReasons = map[pcap.LinkType]string{}
		}
		reason = fmt.Sprintf("link type %d not read", int(lt))
		if name := lt.String(); name != "unknown" {
			reason = fmt.Sprintf("link type %s (%d) not read", name, int(lt))
		}
		r.prod.linkReasons[lt] = reason
	}
	return reason
}

func (r *run) passThrough(pass *[]Frame, rec pcap.Record, reason string) {
	r.prod.pass.add(len(rec.Data))
	r.prod.passReasons[reason]++
	*pass = append((*pass)[:0], Frame{Time: time.Now(), Link: rec.Link, Data: rec.Data, OrigLen: rec.OrigLen})
	r.write(r.sinks[0], *pass)
}
