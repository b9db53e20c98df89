package replay

import (
	"net"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/pcap"
)

// Frame is one packet the replay engine hands to its output: the link-layer header of the
// input (rewritten for the packet's IP version) followed by the IP packet, in Data, which
// is only valid during the WriteFrames call; Link is the link type of Data's header (the
// input record's); OrigLen is the packet's length on the wire when it is more than
// len(Data) (a record the capture cut at its snaplen passes through with the length it
// had), 0 meaning len(Data). It is a pcap.Packet, so that a capture file output writes a
// burst as it comes (pcap.Writer.WritePackets).
type Frame = pcap.Packet

// Output takes what the host delivers. The engine calls WriteFrames from one goroutine at
// a time, in bursts; an error stops the run.
type Output interface {
	WriteFrames(fs []Frame) error
}

// LaneSplitter is an Output that can give each lane of the send path an output of its
// own, so that the lanes' output work (system calls, for a live interface) runs in
// parallel. Split is called once, before any frame is written; the first output it
// returns may be the splitter itself.
type LaneSplitter interface {
	Output
	Split(n int) ([]Output, error)
}

// Discard is an Output that drops everything (the report still counts it).
type Discard struct{}

// WriteFrames implements Output.
func (Discard) WriteFrames([]Frame) error { return nil }

// Flusher is an Output that buffers: the run calls Flush at least every FlushEvery, under
// the same lock as WriteFrames, so that a write error (a full disk) stops the run within
// that time even when packets are few.
type Flusher interface {
	Flush() error
}

// FlushEvery is how often a run flushes an Output that is a Flusher.
const FlushEvery = 250 * time.Millisecond

// PcapOutput writes frames to a capture file (pcap or pcapng, as W writes): each frame
// with its own link type and original length.
type PcapOutput struct{ W *pcap.Writer }

// WriteFrames implements Output.
func (o PcapOutput) WriteFrames(fs []Frame) error { return o.W.WritePackets(fs) }

// Flush implements Flusher.
func (o PcapOutput) Flush() error { return o.W.Flush() }

// LiveOutput sends frames out a network interface. Ethernet frames go out as they are;
// frames of any other link type (each frame's own, so a capture that mixes link types
// replays whole) get an Ethernet header from the interface's address to Dst (broadcast
// when nil).
type LiveOutput struct {
	S   *live.Sender
	Dst net.HardwareAddr
	// Options open the sockets Split adds.
	Options live.Options

	extra  []*live.Sender
	lanes  []*LiveOutput // the outputs Split made, for Report
	frames [][]byte
	arena  []byte
	lost   lostFrames
}

// lostFrames counts what a live output could not send, each kind with its reason.
type lostFrames struct {
	tooLong Counter // longer than the interface's MTU allows
	longest int     // the longest of those
	// Of a link type without an Ethernet header, carrying neither IP nor an EtherType
	// (a cooked record of 802.2 LLC, a USB record of a pcapng): no Ethernet frame to make.
	noEther Counter
}

// Report says what the output did, for Report.Iface: call it once the run is over.
func (o *LiveOutput) Report() *IfaceReport {
	st := o.Stats()
	rep := &IfaceReport{Name: o.S.Name(), MTU: o.S.MTU(), Sent: Counter{Packets: st.Packets, Bytes: st.Bytes},
		Batches: st.Batches, Waits: st.Waits}
	for _, l := range append([]*LiveOutput{o}, o.lanes...) {
		rep.NotSent.Packets += l.lost.tooLong.Packets
		rep.NotSent.Bytes += l.lost.tooLong.Bytes
		rep.Longest = max(rep.Longest, l.lost.longest)
		rep.NoEthernet.Packets += l.lost.noEther.Packets
		rep.NoEthernet.Bytes += l.lost.noEther.Bytes
	}
	return rep
}

// WriteFrames implements Output.
func (o *LiveOutput) WriteFrames(fs []Frame) error {
	o.frames = o.frames[:0]
	need := 0
	for i := range fs {
		if fs[i].Link != pcap.LinkTypeEthernet {
			need += 14 + len(fs[i].Data)
		}
	}
	if cap(o.arena) < need {
		o.arena = make([]byte, 0, need*2)
	}
	a := o.arena[:0]
	for i := range fs {
		if fs[i].Link == pcap.LinkTypeEthernet {
			o.frames = append(o.frames, fs[i].Data)
			continue
		}
		et, payload, ok := etherPayload(fs[i].Link, fs[i].Data)
		if !ok {
			o.lost.noEther.add(len(fs[i].Data))
			continue
		}
		start := len(a)
		a = append(a, o.dst()...)
		a = append(a, o.S.HardwareAddr()...)
		a = append(a, byte(et>>8), byte(et))
		a = append(a, payload...)
		o.frames = append(o.frames, a[start:])
	}
	// A frame longer than the interface takes (a packet that sealing made longer than the
	// MTU, a capture from a link with a larger one) is counted and skipped, not the end of
	// the run: the rest of the burst goes on.
	for frames := o.frames; len(frames) > 0; {
		n, err := o.S.Send(frames)
		if err == nil {
			break
		}
		if !live.TooLong(err) || n >= len(frames) {
			return err
		}
		o.lost.tooLong.add(len(frames[n]))
		o.lost.longest = max(o.lost.longest, len(frames[n]))
		frames = frames[n+1:]
	}
	return nil
}

// etherPayload gives what goes behind the Ethernet header made for a frame of another
// link type, and its EtherType: the IP packet; or, for a cooked capture's frame that is
// not IP (ARP from a `tcpdump -i any` capture), what follows its header, under the
// EtherType it names. ok is false when there is no such thing (802.2 LLC, a record too
// short for its header, a link type ov2 does not read): the caller counts it.
func etherPayload(lt pcap.LinkType, data []byte) (et uint16, payload []byte, ok bool) {
	if _, ip, err := pcap.Network(lt, data); err == nil && len(ip) > 0 {
		if ip[0]>>4 == 6 {
			return uint16(layers.EthernetTypeIPv6), ip, true
		}
		return uint16(layers.EthernetTypeIPv4), ip, true
	}
	return pcap.EtherPayload(lt, data)
}

// Split opens n-1 more sockets on the interface, one per lane (see LaneSplitter). Close
// closes them.
func (o *LiveOutput) Split(n int) ([]Output, error) {
	outs := []Output{o}
	for len(outs) < n {
		s, err := live.Open(o.S.Name(), o.Options)
		if err != nil {
			return nil, err
		}
		o.extra = append(o.extra, s)
		l := &LiveOutput{S: s, Dst: o.Dst, Options: o.Options}
		o.lanes = append(o.lanes, l)
		outs = append(outs, l)
	}
	return outs, nil
}

// Close closes the sockets Split opened (not S, which the caller opened).
func (o *LiveOutput) Close() error {
	var first error
	for _, s := range o.extra {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	o.extra = nil
	return first
}

// Stats sums the counters of S and the sockets Split opened.
func (o *LiveOutput) Stats() live.Stats {
	st := o.S.Stats()
	for _, s := range o.extra {
		x := s.Stats()
		st.Packets += x.Packets
		st.Bytes += x.Bytes
		st.Batches += x.Batches
		st.Waits += x.Waits
	}
	return st
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (o *LiveOutput) dst() net.HardwareAddr {
	if len(o.Dst) == 6 {
		return o.Dst
	}
	return broadcast
}
