package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ov2dev/ov2/bench"
)

const benchAbout = `Measures the NIC's send path (encrypt), receive path (decrypt) or both (roundtrip):
throughput over a closed loop at full speed, latency per packet from NIC entry to
completion (an HDR histogram), allocations per packet, and the raw limit: the same
algorithm's crypto alone on one core over the same bytes, which every row is given as a
ratio to. The raw limit of aes128gcm, aes256gcm and gmac is Go's crypto/cipher AES-GCM;
of aes128cbc-sha256 and aes256cbc-sha1 crypto/aes CBC + crypto/hmac; of null-sha256 and
ah-sha256 crypto/hmac. Each row's raw loops run beside it, half just before its window
and half just after, so that the machine's drift cancels in the ratio. Where AES-GCM or
GMAC is dispatched to another implementation (VAES, portable), or another suite runs a
part in ov2's own code (AES-CBC where VAES is, HMAC-SHA-256 where the SHA
extensions are), the row also gives that implementation's own raw limit through
esp.Transform (AH: esp.Auth) and the ratio to it (impl Mpps, impl ratio); where the
engine's crypto is the standard library's, impl is the same as raw.

Sizes are wire sizes of IPv4 transport-mode ESP packets with a 16-byte ICV (IP header,
ESP header and IV, payload, padding and trailer, ICV): multiples of 4 from 64 to 2048;
imix is 7:4:1 of 64, 576 and 1500 bytes in a fixed interleaved pattern, its rates
counting actual bytes; lso64k is a 64 KB TCP large send (LSO + IPsec) cut by the NIC
into 46 segments of MSS 1400, its Mpps counting segments (encrypt and roundtrip only).

Latency: at --load 100% the closed loop keeps --in-flight packets queued, so latency is
mostly the wait behind them (queueing), not the NIC's own delay. With --load below 100%
each row first measures its maximum, then offers that share of it with an open-loop
pacer and reports the latency of that phase with the offered and achieved rates; in that
phase every core is kept polling (busy-poll), so that a lane woken by a burst does not
wait for an idle CPU to wake up.`

const benchFooter = `Progress goes to stderr, one line per row. Run on a quiet machine: other work on the
cores changes every figure.

example:
  ov2 bench --size 64,1400,imix --lanes 1,2 --placement both --mode encrypt --load 50% --plot bench.svg`

// benchCmd is `ov2 bench`.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	c := newCommand("bench", "[flags]", benchAbout, benchFooter, stdout, stderr)
	fs := c.fs
	sizes := fs.String("size", "64,1400,imix", "packet sizes: a `LIST` of 64..2048 (multiples of 4), imix, lso64k")
	modes := fs.String("mode", "encrypt", "modes: a `LIST` of encrypt, decrypt, roundtrip")
	algos := fs.String("algo", "aes128gcm", "algorithms: a `LIST` of aes128gcm, aes256gcm, gmac, aes128cbc-sha256, aes256cbc-sha1, null-sha256, ah-sha256")
	lanes := fs.String("lanes", "1,2", "lane counts to compare: a `LIST` of 1..256")
	placement := fs.String("placement", "fused", "run a lane's stages `fused|split|both`: in one goroutine, one each, or a row for each")
	duration := fs.Duration("duration", 3*time.Second, "measured window `D` per row")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up `D` before the window")
	load := fs.String("load", "100%", "offered `LOAD` for latency, a share of the measured maximum")
	inFlight := fs.Int("in-flight", 1024, "packets in flight in the closed loop: `N`")
	repeat := fs.Int("repeat", 1, "measure every row `N` times (1..100), in turn, and give each row's medians")
	poll := fs.Duration("poll", 0, "latency window with the lanes in poll mode: each polls its input for up to `D` before it parks (e.g. 200us; 0: the harness keeps the cores busy)")
	asJSON := fs.Bool("json", false, "write the result as JSON on stdout (and nothing else there)")
	csvPath := fs.String("csv", "", "also write the rows as CSV to `FILE`")
	plotPath := fs.String("plot", "", "also write a chart to `FILE.svg`: throughput per size and lanes, latency distribution")
	if err := c.parse(args); err != nil {
		return err
	}
	bad := c.usageError
	if fs.NArg() != 0 {
		return bad("unexpected argument %q (flags only)", fs.Arg(0))
	}
	var o bench.Options
	var err error
	if o.Sizes, err = bench.ParseSizes(*sizes); err != nil {
		return bad("--size %s: %v", *sizes, err)
	}
	if o.Modes, err = bench.ParseModes(*modes); err != nil {
		return bad("--mode %s: %v", *modes, err)
	}
	if o.Algos, err = bench.ParseAlgos(*algos); err != nil {
		return bad("--algo %s: %v", *algos, err)
	}
	if o.Lanes, err = bench.ParseLanes(*lanes); err != nil {
		return bad("--lanes %s: %v", *lanes, err)
	}
	if o.Placements, err = bench.ParsePlacements(*placement); err != nil {
		return bad("--placement %s: %v", *placement, err)
	}
	if o.Load, err = bench.ParseLoad(*load); err != nil {
		return bad("--load %s: %v", *load, err)
	}
	if *duration <= 0 {
		return bad("--duration %v: want a positive duration, e.g. 3s", *duration)
	}
	if *warmup < 0 {
		return bad("--warmup %v: want 0 or a positive duration, e.g. 1s", *warmup)
	}
	if *inFlight < 1 || *inFlight > 1<<16 {
		return bad("--in-flight %d: want 1 to 65536", *inFlight)
	}
	if *repeat < 1 || *repeat > bench.MaxRepeat {
		return bad("--repeat %d: want 1 to %d", *repeat, bench.MaxRepeat)
	}
	for _, p := range []struct{ flag, path, ext string }{{"--csv", *csvPath, ""}, {"--plot", *plotPath, ".svg"}} {
		if p.path == "" {
			continue
		}
		if p.ext != "" && !strings.EqualFold(filepath.Ext(p.path), p.ext) {
			return bad("%s %s: want a file name ending in %s", p.flag, p.path, p.ext)
		}
		if st, err := os.Stat(filepath.Dir(p.path)); err != nil || !st.IsDir() {
			return bad("%s %s: directory %s does not exist", p.flag, p.path, filepath.Dir(p.path))
		}
	}
	if *csvPath != "" && (filepath.Clean(*csvPath) == filepath.Clean(*plotPath) || sameFile(*csvPath, *plotPath)) {
		// The chart would be written over the table.
		return bad("--csv and --plot name the same file %q", *csvPath)
	}
	if *poll < 0 || *poll > time.Second {
		return bad("--poll %v: want 0 to 1s", *poll)
	}
	o.Duration, o.Warmup, o.InFlight, o.Poll, o.Repeat = *duration, *warmup, *inFlight, *poll, *repeat

	ctx, sig := interruptible(stderr, "ov2 bench", func() {})
	defer sig.stop()
	progress := func(s string) { fmt.Fprintf(stderr, "ov2 bench: %s\n", s) }
	res, err := bench.Run(ctx, o, progress)
	if errors.Is(err, context.Canceled) && res != nil && len(res.Rows) > 0 {
		// Interrupted: show the rows measured so far, then say so.
		if *asJSON {
			res.WriteJSON(stdout)
		} else {
			res.WriteTable(stdout)
		}
		return sig.exit(fmt.Sprintf("the %d rows above were measured before it", len(res.Rows)))
	}
	if errors.Is(err, context.Canceled) {
		return sig.exit("no row was complete")
	}
	if err != nil {
		return err
	}
	if *csvPath != "" {
		if err := writeOutput(*csvPath, res.WriteCSV); err != nil {
			return err
		}
		progress("wrote " + *csvPath)
	}
	if *plotPath != "" {
		if err := writeOutput(*plotPath, res.WriteSVG); err != nil {
			return err
		}
		progress("wrote " + *plotPath)
	}
	if *asJSON {
		return res.WriteJSON(stdout)
	}
	return res.WriteTable(stdout)
}
