package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/pcap"
	"github.com/ov2dev/ov2/replay"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

const replayAbout = `Replays a capture through the NIC. ESP, ESP in UDP or AH for an inbound SA (SPI and
destination) goes through the receive path and the host decapsulates it; a plain IP packet
for an outbound SA (its selector, or its src/dst) goes through the send path; IP packets for
no SA go through the NIC in clear; anything else (ARP, ESP for no SA) passes through. Every
packet is counted in the report.

SAs of every suite the NIC offloads: ESP with AES-GCM or AES-GMAC, ESP with AES-CBC or NULL
encryption and HMAC-SHA1-96 or HMAC-SHA-256-128, AH with either HMAC, and ESP+AH bundles,
which an ip xfrm policy whose templates are ESP then AH (one reqid) makes of two states.

With no input, the built-in sample capture is encrypted with the demo SAs (one of each
kind), decrypted back, and checked packet for packet (the round trip). An input of - is
standard input, read once, as a FIFO or a pipe is.`

const replayFooter = `Interrupting: Ctrl-C (SIGINT) or SIGTERM stops the run within a second. The packets
already inside the NIC complete, the report of what was done is printed (marked
INTERRUPTED), --out is left as a valid capture of every packet completed before the
signal, and ov2 exits with status 130 (SIGINT) or 143 (SIGTERM). A second signal quits
at once and leaves no output file. After an error (an unreadable input, a full disk)
no output file is left, and the status is 1.

examples:
  ov2 replay                                   the built-in round trip
  ov2 replay --sa my.sa --out out.pcap in.pcap encrypt/decrypt a capture into a file
  ov2 replay --sa my.sa --out - in.pcap | tshark -r -
  tcpdump -i eth0 -w - | ov2 replay --sa my.sa --out out.pcap -
  ov2 replay --sa my.sa --iface veth0 --pps 100000 --loop 10 in.pcapng`

func replayCmd(args []string, stdout, stderr io.Writer) error {
	c := newCommand("replay", "[flags] [INPUT.pcap|INPUT.pcapng]", replayAbout, replayFooter, stdout, stderr)
	fs := c.fs
	saFile := fs.String("sa", "", "SAs and policies in `FILE`, as ip xfrm state and ip xfrm policy commands or listings: AES-GCM, AES-GMAC, AES-CBC or NULL with HMAC-SHA1/SHA-256, AH, ESP+AH bundles (default: the built-in demo SAs)")
	outFile := fs.String("out", "", "write what the host delivers to the capture `FILE` (- for standard output, the report then going to standard error); a device or FIFO is written in place, a symlink's target replaced, an input refused")
	iface := fs.String("iface", "", "send what the host delivers out the network interface `IFACE` (AF_PACKET)")
	fs.Bool("topspeed", false, "as fast as possible (the default)")
	pps := fs.String("pps", "", "pace at `N` packets per second")
	mbps := fs.String("mbps", "", "pace at `N` megabits per second of input frames")
	mult := fs.String("multiplier", "", "the capture's own timing, `X` times faster")
	timing := fs.String("timing", "", "`pcap`: the capture's own timing (as --multiplier 1)")
	loops := fs.Int("loop", 0, "replay the input `N` times (default 1; the built-in sample 400)")
	lanes := fs.Int("lanes", runtime.NumCPU(), "`N` worker lanes in each direction")
	placement := fs.String("placement", "fused", "run a lane's stages `fused|split`: in one goroutine, or one goroutine each")
	jsonOut := fs.Bool("json", false, "print the final report as JSON on stdout")
	bypass := fs.Bool("qdisc-bypass", false, "with --iface: send past the interface's queueing discipline (PACKET_QDISC_BYPASS)")
	keys := fs.String("wireshark-keys", "", "write Wireshark esp_sa lines for the SAs to `FILE`")
	config := fs.String("config", "", "NIC keyword `FILE` (default: built-in defaults)")
	mss := fs.Int("mss", 1400, "`BYTES` of TCP payload per segment when a TCP packet too big for a buffer (GSO/TSO capture) goes out as an LSO + IPsec large send")
	cpuprofile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to `FILE`")
	format := fs.String("format", "", "write the --out capture in the `pcap|pcapng` format (default: pcapng for a name ending in .pcapng, else pcap)")
	roundTrip := fs.Bool("roundtrip", false, "decrypt what is encrypted and check it equals the input (always on without an input)")
	rawLimit := fs.Bool("raw-limit", false, "after a round trip, run the crypto alone on one core over one pass's sealed packets for 0.5s and give the run's rate as a share of that limit")
	if err := c.parse(args); err != nil {
		return err
	}
	usageErr := c.usageError
	if fs.NArg() > 1 {
		return usageErr("one input capture at most, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	pace, err := pacingFrom(fs, *pps, *mbps, *mult, *timing)
	if err != nil {
		return usageErr("%v", err)
	}
	if *lanes < 1 || *lanes > 256 {
		return usageErr("--lanes %d: want 1 to 256", *lanes)
	}
	if *loops < 0 || (isSet(fs, "loop") && *loops == 0) {
		return usageErr("--loop %d: want at least 1", *loops)
	}
	if *mss < 1 || *mss > packet.MaxMSS {
		return usageErr("--mss %d: want 1 to %d", *mss, packet.MaxMSS)
	}
	var pl stage.Placement
	switch *placement {
	case "fused":
		pl = stage.Fused
	case "split":
		pl = stage.Split
	default:
		return usageErr("--placement %q: want fused or split", *placement)
	}
	if *outFile != "" && (*outFile == *keys || sameFile(*outFile, *keys)) {
		return usageErr("--out and --wireshark-keys name the same file %q", *outFile)
	}

	nicCfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	var in replay.Input
	var sas *xfrm.Config
	demo := fs.NArg() == 0
	if demo {
		in, sas, err = replay.Demo()
		if err != nil {
			return err
		}
		*roundTrip = true
		if *loops == 0 {
			*loops = replay.DemoLoops
		}
	} else {
		switch {
		case fs.Arg(0) != "-":
			in = replay.FileInput(fs.Arg(0))
		case isTerminal(os.Stdin):
			return usageErr("input -: standard input is a terminal; pipe a capture into it (tcpdump -w - | ov2 replay -)")
		default:
			in = replay.Input{Name: "standard input", Open: func() (replay.Reader, error) { return pcap.NewReader("standard input", os.Stdin) }}
		}
		if _, sas, err = replay.Demo(); err != nil {
			return err
		}
	}
	if *rawLimit && !*roundTrip {
		return usageErr("--raw-limit measures against a round trip: add --roundtrip (the built-in sample always has one)")
	}
	if *saFile != "" {
		if sas, err = xfrm.ParseConfigFile(*saFile); err != nil {
			return err
		}
		if len(sas.States) == 0 {
			return fmt.Errorf("%s: no SAs", *saFile)
		}
	}

	// Open the input once before anything is created: a missing or broken file fails here.
	lt, probed, first, err := probe(in)
	if err != nil {
		return err
	}
	if !demo && (fs.Arg(0) == "-" || !isRegular(fs.Arg(0))) {
		// A FIFO, a pipe (bash's <(...)) or a device can be read only once: the run goes on
		// reading through the reader probe opened instead of opening the input again, which
		// would wait for ever for a writer that will not come.
		once := &onceInput{name: in.Name, r: probed, first: first}
		defer once.close()
		in.Open = once.open
	} else {
		probed.Close()
	}
	// Files this run reads, which no file it writes may be (by any path).
	var inputs []string
	for _, p := range []string{fs.Arg(0), *saFile, *config} {
		if p != "" {
			inputs = append(inputs, p)
		}
	}

	// The report goes to standard output, unless the capture does.
	report := stdout
	var outs teeOutput
	var pw *pcap.Writer
	var lo *replay.LiveOutput
	oneLink := false
	if *outFile != "" {
		f := pcap.FormatFor(*outFile)
		switch *format {
		case "":
		case "pcap":
			f = pcap.FormatPcap
		case "pcapng":
			f = pcap.FormatPcapng
		default:
			return usageErr("--format %q: want pcap or pcapng", *format)
		}
		if *outFile == "-" {
			if *jsonOut {
				return usageErr("--out - and --json both want standard output: write the capture or the report to a file")
			}
			if isTerminal(stdout) {
				return usageErr("--out -: standard output is a terminal; send the capture to a file or a pipe (| tshark -r -)")
			}
			report = stderr
		}
		if pw, err = pcap.CreateOutput(*outFile, lt, pcap.Options{Format: f, Snaplen: pcap.MaxSnaplen, Refuse: inputs}); err != nil {
			return err
		}
		defer pw.Abort() // no-op after Commit
		outs = append(outs, replay.PcapOutput{W: pw})
		oneLink = f == pcap.FormatPcap
	} else if *format != "" {
		return usageErr("--format needs --out")
	}
	for _, side := range []struct{ flag, path string }{{"--wireshark-keys", *keys}, {"--cpuprofile", *cpuprofile}} {
		if side.path == "" {
			continue
		}
		for _, other := range append(inputs, *outFile) {
			if sameFile(side.path, other) {
				return usageErr("%s %s: that is %s, which this run reads or writes", side.flag, side.path, other)
			}
		}
	}
	if *keys != "" {
		if err := writeOutput(*keys, func(w io.Writer) error { return xfrm.WriteWiresharkKeys(w, sas.States) }); err != nil {
			return err
		}
	}
	if *iface != "" {
		opts := live.Options{QdiscBypass: *bypass}
		s, err := live.Open(*iface, opts)
		if err != nil {
			return err
		}
		defer s.Close()
		lo = &replay.LiveOutput{S: s, Options: opts}
		defer lo.Close()
		outs = append(outs, lo)
	}
	cfg := replay.Config{SAs: sas.States, Bundles: sas.Bundles, NIC: nicCfg, Lanes: *lanes, Placement: pl, Pace: pace, Loops: *loops,
		RoundTrip: *roundTrip, RawLimit: *rawLimit, OneLink: oneLink, MSS: *mss}
	switch len(outs) {
	case 0:
	case 1:
		cfg.Output = outs[0]
	default:
		cfg.Output = outs
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}

	ctx, sig := interruptible(stderr, "ov2 replay", func() {
		if pw != nil && pw.TempPath() != "" {
			os.Remove(pw.TempPath())
		}
	})
	defer sig.stop()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := replay.Run(ctx, in, cfg)
	interrupted := errors.Is(err, replay.ErrInterrupted)
	if err != nil && !interrupted {
		if lo != nil {
			// What went out cannot be taken back: say how much did.
			return fmt.Errorf("%w; %d packets had been sent on %s", err, lo.Stats().Packets, *iface)
		}
		return err
	}
	// Interrupted or not, the output holds every packet completed: commit it.
	if pw != nil {
		if err := pw.Commit(); err != nil {
			return err
		}
	}
	if lo != nil {
		rep.Iface = lo.Report()
	}
	if *jsonOut {
		if err := rep.WriteJSON(report); err != nil {
			return err
		}
	} else {
		rep.Print(report)
		if pw != nil {
			fmt.Fprintf(report, "  wrote %s (%s, %d packets)\n", outName(*outFile), pw.Format(), pw.Packets())
		}
	}
	if f := rep.Iface; f != nil && f.NotSent.Packets > 0 {
		fmt.Fprintf(stderr, "ov2 replay: note: %d packets were longer than %s's MTU of %d allows (the longest a frame of %d bytes) and were not sent; give %s a larger MTU (ip link set %s mtu %d) to send them all\n",
			f.NotSent.Packets, f.Name, f.MTU, f.Longest, f.Name, f.Name, f.Longest-14)
	}
	if note := noSANote(rep, *saFile, sas); note != "" {
		fmt.Fprintln(stderr, note)
	}
	if note := dirOutNote(rep, sas); note != "" {
		fmt.Fprintln(stderr, note)
	}
	if note := encryptedInputNote(rep); note != "" {
		fmt.Fprintln(stderr, note)
	}
	if !rep.Balanced {
		return errors.New("the packet accounting does not balance (a bug: please report it with the input)")
	}
	if rt := rep.RoundTrip; rt != nil && !rt.OK {
		return fmt.Errorf("round trip failed: %d of %d packets came back equal, %d differ",
			rt.Equal, rep.Encrypt.In.Packets-rep.LargeSends, rt.Differ)
	}
	if interrupted {
		return sig.exit("the report above covers what was done")
	}
	return nil
}

// noSANote warns of a run in which packets were read but none met an SA: a capture of other
// addresses than the SAs' (most often a user's own capture replayed with the built-in demo
// SAs), which would otherwise look like a clean run ("round trip: OK (0/0 ...)") that did
// nothing. saFile is --sa's value, "" for the built-in SAs, whose pairs of addresses the
// note lists.
func noSANote(rep *replay.Report, saFile string, sas *xfrm.Config) string {
	if rep.Read.Packets == 0 || rep.Encrypt.In.Packets != 0 || rep.Decrypt.In.Packets != 0 {
		return ""
	}
	hint := "check the addresses of the SAs in " + saFile + " against the capture's"
	if saFile == "" {
		var pairs []string
		for _, st := range sas.States {
			p := st.Src.String() + " > " + st.Dst.String()
			if st.Sel.Src.IsValid() || st.Sel.Dst.IsValid() { // what the SA carries is its selector's
				p = anyPrefix(st.Sel.Src) + " > " + anyPrefix(st.Sel.Dst)
			}
			if !slices.Contains(pairs, p) {
				pairs = append(pairs, p)
			}
		}
		hint = "the SAs were the built-in demo's (" + strings.Join(pairs, ", ") + "): give yours with --sa FILE"
	}
	return fmt.Sprintf("ov2 replay: note: none of the %d packets read matched an SA (outbound: its source and destination, or in tunnel mode its selector; inbound: ESP for its SPI and destination), so nothing was encrypted or decrypted; %s",
		rep.Read.Packets, hint)
}

// dirOutNote explains a round trip whose sealed packets found no SA on the way back because
// the SAs that sealed them are `dir out`: a round trip opens what it sealed with the same
// state's inbound side, which a state limited to sending does not have. Without the note the
// run ends in "round trip failed: 0 of N packets came back equal" beside "no-sa" counts.
func dirOutNote(rep *replay.Report, sas *xfrm.Config) string {
	if rep.RoundTrip == nil || rep.RoundTrip.OK || rep.Drops["host: not-offloaded"] == 0 {
		return ""
	}
	var out []string
	for _, st := range sas.States {
		if st.Dir == xfrm.Out {
			out = append(out, fmt.Sprintf("0x%08x (%s:%d)", st.SPI, st.File, st.Line))
		}
	}
	if len(out) == 0 {
		return ""
	}
	which := "SA " + out[0] + " is"
	if len(out) > 1 {
		which = "SAs " + strings.Join(out, ", ") + " are"
	}
	return fmt.Sprintf("ov2 replay: note: a round trip opens what it sealed with the same SA's inbound side, and %s dir out, so %d sealed packets found no SA on the way back; leave dir out off those states for the round trip, or replay without --roundtrip",
		which, rep.Drops["host: not-offloaded"])
}

// encryptedInputNote explains a round trip that failed because the input held IPsec
// packets for inbound SAs: the round trip decrypts them as they came, and a decrypted
// packet cannot equal its encrypted input, so each counts as differing. Without the note,
// an encrypted capture given with --roundtrip ended in "0 of 0 packets came back equal,
// 436 differ".
func encryptedInputNote(rep *replay.Report) string {
	rt := rep.RoundTrip
	if rt == nil || rt.OK || rep.Decrypt.In.Packets <= rt.Sent {
		return ""
	}
	return fmt.Sprintf("ov2 replay: note: %d packets of the input were ESP or AH for an inbound SA: a round trip decrypts them as they came, and a decrypted packet cannot equal its encrypted input, so they count as differing; a round trip is for plain packets: replay an encrypted capture without --roundtrip",
		rep.Decrypt.In.Packets-rt.Sent)
}

// anyPrefix prints a selector's prefix, "any" where it has none.
func anyPrefix(p netip.Prefix) string {
	if !p.IsValid() {
		return "any"
	}
	return p.String()
}

// outName is how the report names an output.
func outName(path string) string {
	if path == "-" {
		return "standard output"
	}
	return path
}

// sameFile says whether two paths name the same existing file.
func sameFile(a, b string) bool {
	if a == "" || b == "" || a == "-" || b == "-" {
		return false
	}
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}

// pacingFrom reads the pacing flags, of which one at most may be given.
func pacingFrom(fs *flag.FlagSet, pps, mbps, mult, timing string) (replay.Pacing, error) {
	var given []string
	for _, n := range []string{"topspeed", "pps", "mbps", "multiplier", "timing"} {
		if isSet(fs, n) {
			given = append(given, "--"+n)
		}
	}
	if len(given) > 1 {
		return replay.Pacing{}, fmt.Errorf("%s: choose one pacing", strings.Join(given, ", "))
	}
	num := func(flagName, s string) (float64, error) {
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || !(v > 0):
			return 0, fmt.Errorf("--%s %q: want a positive number", flagName, s)
		case v > replay.MaxRate:
			return 0, fmt.Errorf("--%s %q: want at most %g", flagName, s, float64(replay.MaxRate))
		}
		return v, nil
	}
	switch {
	case pps != "":
		v, err := num("pps", pps)
		return replay.Pacing{Mode: replay.PPS, Rate: v}, err
	case mbps != "":
		v, err := num("mbps", mbps)
		return replay.Pacing{Mode: replay.Mbps, Rate: v}, err
	case mult != "":
		v, err := num("multiplier", mult)
		return replay.Pacing{Mode: replay.Multiplier, Rate: v}, err
	case timing != "":
		if timing != "pcap" {
			return replay.Pacing{}, fmt.Errorf("--timing %q: the only timing is pcap", timing)
		}
		return replay.Pacing{Mode: replay.Multiplier, Rate: 1}, nil
	}
	return replay.Pacing{Mode: replay.TopSpeed}, nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// probe opens the input and reads its first record: the link type of the output (the
// file's own for a capture with no packets), and an early, clear error for a missing,
// empty (zero bytes), or foreign file. Without an error it returns the open reader, which
// the caller closes or reads on from, and the record it read (its bytes copied; nil for a
// capture with no packets).
func probe(in replay.Input) (pcap.LinkType, replay.Reader, *pcap.Record, error) {
	r, err := in.Open()
	if err != nil {
		return 0, nil, nil, err
	}
	rec, err := r.Next()
	switch {
	case err == io.EOF: // a valid capture with no packets: the run reports zero of everything
		return r.LinkType(), r, nil, nil
	case err != nil:
		r.Close()
		return 0, nil, nil, err
	case !pcap.Supported(rec.Link):
		r.Close()
		_, _, err := pcap.Network(rec.Link, rec.Data)
		return 0, nil, nil, fmt.Errorf("%s: packet %d: %w", in.Name, rec.Index, err)
	}
	rec.Data = bytes.Clone(rec.Data) // the reader's buffer is reused by its next record
	return rec.Link, r, &rec, nil
}

// isRegular says whether path is a regular file (following symlinks): one that can be
// opened and read again. An error counts as regular: opening it again gives that error.
func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err != nil || fi.Mode().IsRegular()
}

// onceInput is the input of a run whose capture is not a regular file: the first open
// hands over the reader probe opened, giving probe's record first; a second open (a later
// loop or a round trip's second pass, over a capture too large to keep in memory) is an
// error, not a wait for a writer that will not come.
type onceInput struct {
	name  string
	r     replay.Reader
	first *pcap.Record
	used  bool
}

func (o *onceInput) open() (replay.Reader, error) {
	if o.used {
		return nil, fmt.Errorf("%s: not a regular file (a FIFO, a pipe or a device), so it can be read only once, and this run needs it again (a capture too large to keep in memory, replayed more than once or in a round trip): save it to a file first", o.name)
	}
	o.used = true
	return &peekedReader{Reader: o.r, first: o.first}, nil
}

// close closes the reader if the run never took it (an error before the run started).
func (o *onceInput) close() {
	if !o.used {
		o.r.Close()
	}
}

// peekedReader gives first, then the rest of the reader.
type peekedReader struct {
	replay.Reader
	first *pcap.Record
}

func (p *peekedReader) Next() (pcap.Record, error) {
	if f := p.first; f != nil {
		p.first = nil
		return *f, nil
	}
	return p.Reader.Next()
}

// teeOutput writes to several outputs.
type teeOutput []replay.Output

func (t teeOutput) WriteFrames(fs []replay.Frame) error {
	for _, o := range t {
		if err := o.WriteFrames(fs); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal says whether w is a terminal (for the progress line, and the refusals of
// binary output to one): one that answers TCGETS. Any character device would not do:
// /dev/null is one, and `--out - > /dev/null` was refused as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
