package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// MaxSnaplen is the largest record this package reads or writes: libpcap's
// MAXIMUM_SNAPLEN. A pcap record or pcapng packet that claims more captured bytes is
// reported as corrupt instead of being allocated for.
const MaxSnaplen = 262144

// ErrTruncated is wrapped by every error about a capture that ends inside a header or a
// record (test with errors.Is). A capture cut off by killing tcpdump typically ends that
// way; a caller may choose to treat it like io.EOF after reporting it.
var ErrTruncated = errors.New("truncated")

// Pcap magic numbers as the first four bytes read big-endian.
const (
	magicMicroLE = 0xd4c3b2a1 // a1b2c3d4 written little-endian
	magicMicroBE = 0xa1b2c3d4
	magicNanoLE  = 0x4d3cb2a1 // a1b23c4d written little-endian
	magicNanoBE  = 0xa1b23c4d
	magicNg      = 0x0a0d0d0a // pcapng section header block type, a palindrome

	pcapHeaderLen = 24
	pcapRecordLen = 16
	srcBufSize    = 64 << 10
)

// Record is one packet of a capture. Data aliases the reader's buffer and is valid until
// the next call to Next.
type Record struct {
	Index   uint64    // 1-based packet number in the file
	Time    time.Time // UTC, to the resolution the file keeps; zero for a pcapng simple packet block
	Link    LinkType  // the packet's link type (per interface in pcapng)
	Data    []byte    // captured bytes
	OrigLen int       // length of the packet on the wire
}

// Reader reads the packets of a pcap or pcapng capture. Next does not allocate once the
// first packet has been read. A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	format string
	file   *os.File // set by Open; closed by Close
	src    *bufio.Reader
	count  *countingReader

	pcap *pcapgo.Reader
	link LinkType // pcap: the file's link type
	pos  int64    // pcap: file offset of the next record header

	ng    *pcapgo.NgReader
	guard *ngGuard

	n   uint64 // packets returned so far
	err error  // sticky: io.EOF or the first error
}

// Open opens a pcap (either byte order, microsecond or nanosecond resolution) or pcapng
// file, telling them apart by the magic number. Errors name the path: a missing file
// (the *fs.PathError of os.Open), "x: empty file", "x.txt: not a pcap or pcapng file
// (magic 0x68656c6c)" (the first four bytes in file order), a truncated or unsupported
// file header.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReader reads a capture from r; name is used in errors. Close does not close r.
func NewReader(name string, r io.Reader) (*Reader, error) {
	rd := &Reader{name: name, count: &countingReader{r: r}}
	rd.src = bufio.NewReaderSize(rd.count, srcBufSize)
	head, err := rd.src.Peek(4)
	if len(head) < 4 {
		switch {
		case err != io.EOF:
			return nil, fmt.Errorf("%s: %w", name, err)
		case len(head) == 0:
			return nil, fmt.Errorf("%s: empty file", name)
		default:
			return nil, fmt.Errorf("%s: not a pcap or pcapng file (only %d bytes)", name, len(head))
		}
	}
	switch magic := binary.BigEndian.Uint32(head); magic {
	case magicMicroLE, magicMicroBE, magicNanoLE, magicNanoBE:
		err = rd.openPcap()
	case magicNg:
		err = rd.openNg()
	default:
		return nil, fmt.Errorf("%s: not a pcap or pcapng file (magic 0x%08x)", name, magic)
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

func (r *Reader) openPcap() error {
	r.format = "pcap"
	h, err := r.src.Peek(pcapHeaderLen)
	if len(h) < pcapHeaderLen {
		if err == io.EOF {
			return fmt.Errorf("%s: %w pcap file header (%d of %d bytes)", r.name, ErrTruncated, len(h), pcapHeaderLen)
		}
		return fmt.Errorf("%s: %w", r.name, err)
	}
	var order binary.ByteOrder = binary.BigEndian
	if m := binary.BigEndian.Uint32(h); m == magicMicroLE || m == magicNanoLE {
		order = binary.LittleEndian
	}
	if major, minor := order.Uint16(h[4:]), order.Uint16(h[6:]); major != 2 || minor != 4 {
		return fmt.Errorf("%s: unsupported pcap version %d.%d (want 2.4)", r.name, major, minor)
	}
	// The upper 16 bits of the field carry FCS information, not the link type.
	r.link = LinkType(order.Uint32(h[20:]))
	// pcapgo reuses r.src (a *bufio.Reader of at least 4096 bytes) instead of wrapping it,
	// so r.count and r.src.Buffered() tell exactly how far it has read.
	p, err := pcapgo.NewReader(r.src)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	// pcapgo rejects records above the header's snaplen, but writers do not all respect
	// their own snaplen and tcpdump and Wireshark ignore it; what matters is a sane bound
	// on the buffer pcapgo allocates, which is the larger of snaplen and the record.
	p.SetSnaplen(MaxSnaplen)
	r.pcap = p
	r.pos = pcapHeaderLen
	return nil
}

func (r *Reader) openNg() error {
	r.format = "pcapng"
	r.guard = newNgGuard(r.src)
	r.guard.prefetch()
	ng, err := pcapgo.NewNgReader(r.guard, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	r.ng = ng
	return nil
}

// Next returns the next packet. It returns io.EOF (unwrapped) at a clean end of the
// capture. Any other error names the file and the packet number, e.g.
// "cap.pcap: packet 17: truncated (record header says 1400 bytes, file ends after 200)",
// and is returned again by every later call.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if r.pcap != nil {
		data, ci, err := r.pcap.ZeroCopyReadPacketData()
		if err != nil {
			r.err = r.pcapError(err, ci)
			return Record{}, r.err
		}
		r.n++
		r.pos += pcapRecordLen + int64(len(data))
		return Record{Index: r.n, Time: ci.Timestamp, Link: r.link, Data: data, OrigLen: ci.Length}, nil
	}
	data, ci, err := r.ng.ZeroCopyReadPacketData()
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("%s: packet %d: %w", r.name, r.n+1, err)
		}
		r.err = err
		return Record{}, err
	}
	// The guard rewrote every interface's link type to an index into its table (see
	// ngGuard), so this is a small number: pcapgo boxes it into AncillaryData without
	// allocating, and the real 16-bit link type survives.
	var code layers.LinkType
	ok := len(ci.AncillaryData) == 1
	if ok {
		code, ok = ci.AncillaryData[0].(layers.LinkType)
	}
	if !ok || int(code) >= len(r.guard.linkTypes) {
		r.err = fmt.Errorf("%s: packet %d: internal error: no link type for interface %d", r.name, r.n+1, ci.InterfaceIndex)
		return Record{}, r.err
	}
	r.n++
	return Record{Index: r.n, Time: ci.Timestamp, Link: r.guard.linkTypes[code], Data: data, OrigLen: ci.Length}, nil
}

// pcapError turns what pcapgo's ZeroCopyReadPacketData returned into this package's error.
// pcapgo fills ci once the 16-byte record header is read, so a zero ci.Timestamp (the
// header's time is at least 1970) means the header was not complete.
func (r *Reader) pcapError(err error, ci gopacket.CaptureInfo) error {
	pkt := r.n + 1
	end := r.count.n - int64(r.src.Buffered()) // bytes pcapgo has consumed
	truncated := err == io.EOF || err == io.ErrUnexpectedEOF
	switch {
	case ci.Timestamp.IsZero() && err == io.EOF:
		return io.EOF
	case ci.Timestamp.IsZero() && truncated:
		return fmt.Errorf("%s: packet %d: %w record header (file ends after %d of its %d bytes)",
			r.name, pkt, ErrTruncated, end-r.pos, pcapRecordLen)
	case ci.Timestamp.IsZero():
		return fmt.Errorf("%s: packet %d: %w", r.name, pkt, err)
	case ci.CaptureLength > MaxSnaplen:
		return fmt.Errorf("%s: packet %d: corrupt record header: %d captured bytes, more than the %d this reader accepts",
			r.name, pkt, ci.CaptureLength, MaxSnaplen)
	case ci.CaptureLength > ci.Length:
		return fmt.Errorf("%s: packet %d: corrupt record header: captured length %d is more than the original length %d",
			r.name, pkt, ci.CaptureLength, ci.Length)
	case truncated:
		return fmt.Errorf("%s: packet %d: %w (record header says %d bytes, file ends after %d)",
			r.name, pkt, ErrTruncated, ci.CaptureLength, end-r.pos-pcapRecordLen)
	}
	return fmt.Errorf("%s: packet %d: %w", r.name, pkt, err)
}

// TruncatedByCapture reports whether the capture kept only part of the packet (its
// snaplen): the original length is more than the captured bytes.
func (rec Record) TruncatedByCapture() bool { return rec.OrigLen > len(rec.Data) }

// Network is the package-level Network applied to rec, a record of this reader, with
// ErrLinkType and ErrShort errors prefixed by the file and the packet number, as in
// "cap.pcap: packet 3: unsupported link type 802.11 (105)". ErrNotIP errors come back as
// Network returns them (without allocating for the common ethertypes): a frame that is not
// IP is traffic to pass through and count, not a fault of the file.
//
// For a record cut by the capture (TruncatedByCapture), a frame too short for its headers,
// or an IP packet whose header claims more bytes than were captured (an IPv4 total length,
// an IPv6 payload length; 0 is taken as unknown, as Network does), is an error wrapping
// ErrTruncatedByCapture (and ErrShort), with no slices: "cap.pcap: packet 3: truncated by
// the capture (snaplen): 96 of 1514 bytes captured". The IP packet of such a record is
// incomplete, not malformed.
func (r *Reader) Network(rec Record) (link, ip []byte, err error) {
	link, ip, err = Network(rec.Link, rec.Data)
	if rec.TruncatedByCapture() && (errors.Is(err, ErrShort) || (err == nil && IPTruncated(ip))) {
		link, ip = nil, nil
		err = &capturedError{len(rec.Data), rec.OrigLen}
	}
	if err != nil && !errors.Is(err, ErrNotIP) {
		err = fmt.Errorf("%s: packet %d: %w", r.name, rec.Index, err)
	}
	return link, ip, err
}

// IPTruncated reports whether ip, an IP packet as Network returned it, is shorter than its
// own header says (its total or payload length; 0 counts as unknown): for a record cut by
// the capture's snaplen, the IP packet is incomplete. It does not allocate.
func IPTruncated(ip []byte) bool {
	if len(ip) == 0 {
		return false
	}
	if ip[0]>>4 == 6 {
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		return n > 0 && ipv6HeaderLen+n > len(ip)
	}
	n := int(binary.BigEndian.Uint16(ip[2:4]))
	return n >= ipv4MinLen && n > len(ip)
}

// LinkType returns the link type of the file (pcap) or of its first interface (pcapng).
// For a pcapng file whose first interface description block is not near its start (behind
// more than 1 MiB of other blocks) or that has none, it is 0 until Next has read past it.
func (r *Reader) LinkType() LinkType {
	if r.guard != nil {
		if len(r.guard.linkTypes) > 0 {
			return r.guard.linkTypes[0]
		}
		return 0
	}
	return r.link
}

// Format returns "pcap" or "pcapng".
func (r *Reader) Format() string { return r.format }

// Close closes the file that Open opened (NewReader's io.Reader is left alone). Next
// returns an error after Close.
func (r *Reader) Close() error {
	if r.err == nil || r.err == io.EOF {
		r.err = fmt.Errorf("%s: reader is closed", r.name)
	}
	if r.file == nil {
		return nil
	}
	f := r.file
	r.file = nil
	return f.Close()
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
