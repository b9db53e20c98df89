package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/xfrm"
)

const gatewayAbout = `Runs the NIC as a live ESP gateway between two interfaces, a bump in the wire with no
address of its own. A frame from the inside whose IP packet matches an outbound SA (its
selector, or in transport mode its src/dst) leaves the outside sealed; ESP (or ESP in UDP)
from the outside for an inbound SA is opened, checked for replay, and leaves the inside as
the inner packet, with the Ethernet header it came with. ARP, neighbour discovery and IP
traffic for no SA are bridged unchanged both ways; plain traffic from the outside that an
inbound SA covers is dropped. A packet too big for the outside MTU once sealed gets an ICMP
"fragmentation needed" or ICMPv6 "packet too big" error with the MTU that fits (an IPv4
packet without DF is fragmented instead). Every frame is counted in the report.`

const gatewayFooter = `Signals: SIGINT or SIGTERM stops the gateway within a second (the packets inside the NIC
are sent) and prints the report; SIGHUP reads the SA file again and applies the difference
while traffic flows (added SAs offloaded with ADD_SA, removed ones deleted with DELETE_SA
once their packets have left the NIC); a file that does not parse changes nothing.

The interfaces need no address; they are put in promiscuous mode while the gateway runs.
Hosts behind it may keep their segmentation offloads on: a TCP aggregate (GSO or GRO, up to
64 KB) for an SA goes to the NIC as one LSO + IPsec large send, cut into segments that fit
both MTUs once sealed; a UDP one (UDP_SEGMENT) is cut into its datagrams, each sealed. An
aggregate for no SA is bridged for the kernel to cut on the way out (GSO).

examples:
  ov2 gateway --sa site.sa --inside eth1 --outside eth2
  ov2 gateway --sa site.sa --inside eth1 --outside eth2 --lanes 2 --metrics :9464`

func gatewayCmd(args []string, stdout, stderr io.Writer) error {
	c := newCommand("gateway", "--sa FILE --inside IFACE --outside IFACE [flags]", gatewayAbout, gatewayFooter, stdout, stderr)
	fs := c.fs
	saFile := fs.String("sa", "", "SAs and policies in `FILE`, as ov2 replay --sa takes them; read again on SIGHUP")
	inside := fs.String("inside", "", "the plain side's interface `IFACE`")
	outside := fs.String("outside", "", "the ESP side's interface `IFACE`")
	lanes := fs.Int("lanes", 1, "`N` lanes: receive sockets per interface in a PACKET_FANOUT group, each with its worker and fast-path queue")
	metrics := fs.String("metrics", "", "serve the counters for Prometheus at http://`ADDR`/metrics (host:port, or :port)")
	config := fs.String("config", "", "NIC keyword `FILE` (default: built-in defaults)")
	jsonOut := fs.Bool("json", false, "print the final report as JSON on stdout")
	bypass := fs.Bool("qdisc-bypass", false, "send past the interfaces' queueing disciplines (PACKET_QDISC_BYPASS)")
	status := fs.Duration("status", time.Second, "on a terminal, rewrite a status line on standard error every `D` (0: never)")
	cpuprofile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to `FILE`")
	ring := fs.String("ring", "frames", "receive rings of `KIND`: frames (each frame reaches the gateway at once, in a slot\nthat holds one of the interface's MTU) or blocks (frames of any size packed in blocks,\neach held until its block is full or 1 ms passes)")
	blockKB := fs.Int("block-kb", 0, "receive ring blocks of `KB` kilobytes (default 256; frames: slots per block = KB / 2)")
	blocks := fs.Int("blocks", 0, "`N` blocks per receive ring (default 64)")
	if err := c.parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return c.usageError("unexpected argument %q", fs.Arg(0))
	case *saFile == "":
		return c.usageError("--sa FILE is required")
	case *inside == "" || *outside == "":
		return c.usageError("--inside IFACE and --outside IFACE are required")
	case *inside == *outside:
		return c.usageError("--inside and --outside are the same interface %q", *inside)
	case *lanes < 1 || *lanes > 64:
		return c.usageError("--lanes %d: want 1 to 64", *lanes)
	case *status < 0:
		return c.usageError("--status %v: want 0 or more", *status)
	case *ring != "frames" && *ring != "blocks":
		return c.usageError("--ring %q: want frames or blocks", *ring)
	}
	nicCfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	sas, err := xfrm.ParseConfigFile(*saFile)
	if err != nil {
		return err
	}
	if len(sas.States) == 0 {
		return fmt.Errorf("%s: no SAs", *saFile)
	}
	var ln net.Listener
	if *metrics != "" {
		if ln, err = net.Listen("tcp", *metrics); err != nil {
			return fmt.Errorf("--metrics %s: %w", *metrics, err)
		}
		defer ln.Close()
	}
	// brk ends the status line before a message; without one (standard error is not a
	// terminal: a log file, journald) a message is one line with no blank line before it.
	statusOn := *status > 0 && isTerminal(stderr)
	brk := ""
	if statusOn {
		brk = "\n"
	}
	g, err := gateway.New(gateway.Config{SAs: sas.States, Bundles: sas.Bundles, Inside: *inside, Outside: *outside, Lanes: *lanes, NIC: &nicCfg, QdiscBypass: *bypass,
		Recv:   live.RecvOptions{BlockSize: *blockKB << 10, Blocks: *blocks, Immediate: *ring == "frames"},
		Notice: func(msg string) { fmt.Fprintf(stderr, "%sov2 gateway: %s\n", brk, msg) }})
	if err != nil {
		return err
	}
	defer g.Close()
	if ln != nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(g.Collector())
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}

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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	fmt.Fprintf(stderr, "ov2 gateway: %s <-> %s, %d SA(s) from %s, %d lane(s); SIGHUP reloads the SAs, SIGINT or SIGTERM stops\n",
		*inside, *outside, len(sas.States), *saFile, *lanes)
	for _, iface := range []string{*inside, *outside} {
		for _, why := range gateway.KernelRoutes(iface) {
			fmt.Fprintf(stderr, "ov2 gateway: warning: %s: what hosts send to this box (rather than through it) the kernel routes too, in clear, as its routing table says, since the gateway only taps the interface; a bump in the wire needs no addresses on its interfaces (or forwarding off)\n", why)
		}
	}
	if ln != nil {
		fmt.Fprintf(stderr, "ov2 gateway: metrics at http://%s/metrics\n", ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var tick <-chan time.Time
	if statusOn {
		t := time.NewTicker(*status)
		defer t.Stop()
		tick = t.C
	}
	var stopped os.Signal
	var runErr error // an interface removed: the report is printed, then this
loop:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(g, *saFile, stderr, brk)
				continue
			}
			if stopped != nil {
				fmt.Fprintf(stderr, "%sov2 gateway: %s again: quitting at once\n", brk, name(sig))
				os.Exit(statusOf(sig))
			}
			stopped = sig
			fmt.Fprintf(stderr, "%sov2 gateway: %s: stopping; the packets inside the NIC are sent, then the report (again to quit at once)\n", brk, name(sig))
			cancel()
		case <-tick:
			statusLine(stderr, g.Report())
		case runErr = <-done:
			break loop
		}
	}
	if tick != nil {
		fmt.Fprintln(stderr)
	}
	rep := g.Report()
	if *jsonOut {
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	} else {
		rep.Print(stdout)
	}
	if !rep.Balanced {
		return errors.New("the frame accounting does not balance (a bug: please report it)")
	}
	return runErr
}

// reload reads the SA file again and applies it, saying what changed (after brk, which ends
// a status line).
func reload(g *gateway.Gateway, file string, stderr io.Writer, brk string) {
	sas, err := xfrm.ParseConfigFile(file)
	if err == nil && len(sas.States) == 0 {
		err = fmt.Errorf("%s: no SAs", file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%sov2 gateway: SIGHUP: %v; the SAs in force are unchanged\n", brk, err)
		return
	}
	res, err := g.Reload(sas.States, sas.Bundles)
	switch {
	case err != nil && res == (fastpath.ReloadResult{}):
		// Refused before the switch (an SA the NIC would not take): nothing changed.
		fmt.Fprintf(stderr, "%sov2 gateway: SIGHUP: reloading %s: %v; the SAs in force are unchanged\n", brk, file, err)
		return
	case err != nil:
		fmt.Fprintf(stderr, "%sov2 gateway: SIGHUP: reloaded %s with an error: %d SA(s) added, %d removed, %d kept: %v\n",
			brk, file, res.Added, res.Removed, res.Kept, err)
		return
	}
	fmt.Fprintf(stderr, "%sov2 gateway: SIGHUP: reloaded %s: %d SA(s) added, %d removed, %d kept\n", brk, file, res.Added, res.Removed, res.Kept)
}

// statusLine rewrites one line on a terminal.
func statusLine(w io.Writer, r *gateway.Report) {
	var drops uint64
	for _, v := range r.Drops {
		drops += v
	}
	rate := func(c gateway.Counter) float64 {
		if r.Elapsed <= 0 {
			return 0
		}
		return float64(c.Packets) / r.Elapsed
	}
	fmt.Fprintf(w, "\r%.0fs  encrypt %d (%.0f/s)  decrypt %d (%.0f/s)  bridged %d/%d  ICMP %d  drops %d   ",
		r.Elapsed, r.Encrypt.Out.Packets, rate(r.Encrypt.Out), r.Decrypt.Out.Packets, rate(r.Decrypt.Out),
		r.Encrypt.Bridged.Packets, r.Decrypt.Bridged.Packets, r.Encrypt.ICMP.Packets, drops)
}
