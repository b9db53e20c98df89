package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ov2dev/ov2/stage"
)

// Limits of a fixed size: an IPv4 transport ESP packet with a 16-byte ICV is 52 bytes of
// overhead around a payload padded to a multiple of 4, so every wire size is a multiple of
// 4; 64 is the smallest the benchmark frames (a UDP header and 2 bytes of data), and a
// small packet buffer holds 2048 bytes.
const (
	MinSize = 64
	MaxSize = 2048
)

// MaxLanes is the most lanes a row may ask for.
const MaxLanes = 64

// SizeKind says what a Size is.
type SizeKind uint8

// Kinds of sizes.
const (
	Fixed  SizeKind = iota // every packet has the same wire size
	IMIX                   // 7:4:1 of 64, 576 and 1500 bytes, interleaved
	LSO64K                 // a 64 KB TCP large send, cut into MSS 1400 segments by the NIC
)

// Size is one packet size of a run.
type Size struct {
	Kind  SizeKind
	Bytes int // the wire size, for Fixed
}

// imixPattern is the fixed order of IMIX packets: smooth weighted round robin over 7:4:1
// of 64, 576 and 1500 bytes, so that no stretch of the stream is all large or all small.
var imixPattern = [12]int{64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576, 64}

// LSO large send shape: 46 segments of MSS 1400, 64,400 bytes of TCP payload; with the TCP
// header, ESP header, IV and IP header the large send is 64,456 bytes, under the 65,535 an
// IPv4 total length can say.
const (
	LSOMSS      = 1400
	LSOSegments = 46
	LSOPayload  = LSOMSS * LSOSegments
	// LSOSegmentWire is the wire size of each segment: IP 20, ESP header and IV 16, TCP 20,
	// MSS 1400, padding 2, pad length and next header 2, ICV 16.
	LSOSegmentWire = 20 + 16 + 20 + LSOMSS + 2 + 2 + 16
)

// String is the name ParseSize reads: "64", "imix", "lso64k".
func (s Size) String() string {
	switch s.Kind {
	case IMIX:
		return "imix"
	case LSO64K:
		return "lso64k"
	}
	return strconv.Itoa(s.Bytes)
}

// Label is the name with its unit, for tables and benchmark names: "64B", "imix", "lso64k".
func (s Size) Label() string {
	if s.Kind == Fixed {
		return strconv.Itoa(s.Bytes) + "B"
	}
	return s.String()
}

// Pattern is the wire sizes of the packets the NIC completes, in order, for one cycle of
// the size: one packet, IMIX's 12, or a large send's segments.
func (s Size) Pattern() []int {
	switch s.Kind {
	case IMIX:
		return imixPattern[:]
	case LSO64K:
		p := make([]int, LSOSegments)
		for i := range p {
			p[i] = LSOSegmentWire
		}
		return p
	}
	return []int{s.Bytes}
}

// MeanWire is the mean wire size of the packets of one cycle.
func (s Size) MeanWire() float64 {
	sum := 0
	p := s.Pattern()
	for _, n := range p {
		sum += n
	}
	return float64(sum) / float64(len(p))
}

const sizeWant = "want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"

// ParseSize reads one size: a wire size in bytes ("1400", "1400B"), "imix" or "lso64k"
// (case does not matter). The error names the bad value; it is meant to follow a flag name.
func ParseSize(v string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	switch t {
	case "imix":
		return Size{Kind: IMIX}, nil
	case "lso64k":
		return Size{Kind: LSO64K}, nil
	case "":
		return Size{}, fmt.Errorf("empty size: %s", sizeWant)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(t, "b"))
	if err != nil {
		return Size{}, fmt.Errorf("%q is not a size: %s", v, sizeWant)
	}
	if n < MinSize || n > MaxSize {
		return Size{}, fmt.Errorf("%d bytes is out of range: %s", n, sizeWant)
	}
	if n%4 != 0 {
		return Size{}, fmt.Errorf("%d bytes is not a multiple of 4, which every IPv4 transport ESP packet with a 16-byte ICV is: %s", n, sizeWant)
	}
	return Size{Kind: Fixed, Bytes: n}, nil
}

// ParseSizes reads a comma-separated list of sizes. Duplicates are errors.
func ParseSizes(list string) ([]Size, error) {
	var out []Size
	for _, f := range strings.Split(list, ",") {
		s, err := ParseSize(f)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o == s {
				return nil, fmt.Errorf("size %s is listed twice", s)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Mode is what a row measures.
type Mode uint8

// Modes.
const (
	Encrypt   Mode = iota // the send path: seal
	Decrypt               // the receive path: open
	Roundtrip             // send path, then receive path
)

var modeNames = []string{"encrypt", "decrypt", "roundtrip"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode reads "encrypt", "decrypt" or "roundtrip".
func ParseMode(v string) (Mode, error) {
	for i, n := range modeNames {
		if strings.EqualFold(strings.TrimSpace(v), n) {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a mode: want encrypt, decrypt or roundtrip", v)
}

// ParseModes reads a comma-separated list of modes.
func ParseModes(list string) ([]Mode, error) {
	var out []Mode
	for _, f := range strings.Split(list, ",") {
		m, err := ParseMode(f)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o == m {
				return nil, fmt.Errorf("mode %s is listed twice", m)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Algo is the SA's algorithm (suites.go says how each frames its packets).
type Algo uint8

// Algorithms.
const (
	AES128GCM       Algo = iota // RFC 4106, 16-byte key
	AES256GCM                   // RFC 4106, 32-byte key
	GMAC                        // RFC 4543 AES-GMAC, 16-byte key: authenticated, not encrypted
	AES128CBCSHA256             // RFC 3602 AES-CBC-128 with RFC 4868 HMAC-SHA-256-128 (ICV 16)
	AES256CBCSHA1               // RFC 3602 AES-CBC-256 with RFC 2404 HMAC-SHA1-96 (ICV 12)
	NULLSHA256                  // RFC 2410 ESP-NULL with HMAC-SHA-256-128: authenticated, not encrypted
	AHSHA256                    // RFC 4302 AH with HMAC-SHA-256-128
	numAlgos
)

var algoNames = []string{"aes128gcm", "aes256gcm", "gmac", "aes128cbc-sha256", "aes256cbc-sha1", "null-sha256", "ah-sha256"}

// algoWant lists the names for an error message.
const algoWant = "want aes128gcm, aes256gcm, gmac, aes128cbc-sha256, aes256cbc-sha1, null-sha256 or ah-sha256"

func (a Algo) String() string {
	if int(a) < len(algoNames) {
		return algoNames[a]
	}
	return fmt.Sprintf("Algo(%d)", uint8(a))
}

// keyLen is the AES key length in bytes; 0 for NULL and AH, which use no AES.
func (a Algo) keyLen() int {
	switch a {
	case AES256GCM, AES256CBCSHA1:
		return 32
	case NULLSHA256, AHSHA256:
		return 0
	}
	return 16
}

// ParseAlgo reads one of the algorithm names (case does not matter).
func ParseAlgo(v string) (Algo, error) {
	for i, n := range algoNames {
		if strings.EqualFold(strings.TrimSpace(v), n) {
			return Algo(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not an algorithm: %s", v, algoWant)
}

// ParseAlgos reads a comma-separated list of algorithms.
func ParseAlgos(list string) ([]Algo, error) {
	var out []Algo
	for _, f := range strings.Split(list, ",") {
		a, err := ParseAlgo(f)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o == a {
				return nil, fmt.Errorf("algorithm %s is listed twice", a)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseLanes reads a comma-separated list of lane counts, each 1 to MaxLanes.
func ParseLanes(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a lane count: want 1 to %d", f, MaxLanes)
		}
		if n < 1 || n > MaxLanes {
			return nil, fmt.Errorf("%d lanes: want 1 to %d", n, MaxLanes)
		}
		for _, o := range out {
			if o == n {
				return nil, fmt.Errorf("%d lanes is listed twice", n)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// ParsePlacements reads "fused", "split" or "both".
func ParsePlacements(v string) ([]stage.Placement, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "fused":
		return []stage.Placement{stage.Fused}, nil
	case "split":
		return []stage.Placement{stage.Split}, nil
	case "both":
		return []stage.Placement{stage.Fused, stage.Split}, nil
	}
	return nil, fmt.Errorf("%q is not a placement: want fused, split or both", v)
}

// ParseLoad reads an offered load: a percentage ("50%") or a share ("0.5"), more than 0
// and at most 100%.
func ParseLoad(v string) (float64, error) {
	t := strings.TrimSpace(v)
	scale := 1.0
	if strings.HasSuffix(t, "%") {
		t, scale = strings.TrimSuffix(t, "%"), 100
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != f {
		return 0, fmt.Errorf("%q is not a load: want a share of the measured maximum, more than 0%% and at most 100%% (e.g. 50%%)", v)
	}
	f /= scale
	if f <= 0 || f > 1 {
		return 0, fmt.Errorf("%s is out of range: want a share of the measured maximum, more than 0%% and at most 100%% (e.g. 50%%)", v)
	}
	return f, nil
}

// Options say what Run measures. Sizes, Modes, Algos, Lanes and Placements multiply into
// rows; the zero values of the other fields are defaults.
type Options struct {
	Sizes      []Size
	Modes      []Mode
	Algos      []Algo
	Lanes      []int
	Placements []stage.Placement

	// Duration is the measured window of each row's full-speed phase (and of its paced
	// phase when Load < 1), default 3s; Warmup runs before it, unmeasured (0: none; the
	// command's default is 1s). A warm-up lets the caches, pools and the runtime's thread
	// and sudog caches settle; without one a window may count their first allocations.
	Duration, Warmup time.Duration
	// Load is the offered load for the latency figures, as a share of the row's measured
	// maximum: 1 (the default) reports the closed loop's latency; less runs a paced phase.
	Load float64
	// RawDuration is how long each raw-limit loop runs; default min(Duration, 1s).
	RawDuration time.Duration
	// InFlight is the closed loop's budget of packets in flight (default 1024, rounded up
	// to whole cycles of the size pattern on every SA); for lso64k it counts segments.
	InFlight int
	// Burst is how many packets the host submits at a time (default 32, at most 64).
	Burst int
	// Poll, when set, runs the paced (latency) window with the lanes in poll mode
	// (stage.Config.Poll): each lane keeps polling its input this long before it parks,
	// instead of the harness keeping every core busy.
	Poll time.Duration

	// SAsPerLane is how many SAs feed each lane (default 4).
	SAsPerLane int
	// Repeat is how many passes the run makes over its rows (default 1, at most 100): each
	// pass measures every row once, in turn, and Result.Summary gives every row's medians
	// over the passes. On a shared machine one window can be several tens of percent off;
	// the median of interleaved passes is the figure to compare.
	Repeat int
}

// MaxRepeat is the most passes Options.Repeat may ask for.
const MaxRepeat = 100

// withDefaults fills the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	if len(o.Sizes) == 0 {
		o.Sizes = []Size{{Kind: Fixed, Bytes: 64}, {Kind: Fixed, Bytes: 1400}, {Kind: IMIX}}
	}
	if len(o.Modes) == 0 {
		o.Modes = []Mode{Encrypt}
	}
	if len(o.Algos) == 0 {
		o.Algos = []Algo{AES128GCM}
	}
	if len(o.Lanes) == 0 {
		o.Lanes = []int{1}
	}
	if len(o.Placements) == 0 {
		o.Placements = []stage.Placement{stage.Fused}
	}
	if o.Duration == 0 {
		o.Duration = 3 * time.Second
	}
	if o.Load == 0 {
		o.Load = 1
	}
	if o.RawDuration == 0 {
		o.RawDuration = min(o.Duration, time.Second)
	}
	if o.InFlight == 0 {
		o.InFlight = 1024
	}
	if o.Burst == 0 {
		o.Burst = 32
	}
	if o.SAsPerLane == 0 {
		o.SAsPerLane = 4
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	for _, s := range o.Sizes {
		if s.Kind == Fixed && (s.Bytes < MinSize || s.Bytes > MaxSize || s.Bytes%4 != 0) {
			return o, fmt.Errorf("bench: size %d: %s", s.Bytes, sizeWant)
		}
		if s.Kind > LSO64K {
			return o, fmt.Errorf("bench: unknown size kind %d", s.Kind)
		}
	}
	for _, m := range o.Modes {
		if m > Roundtrip {
			return o, fmt.Errorf("bench: unknown mode %d", m)
		}
	}
	for _, a := range o.Algos {
		if a >= numAlgos {
			return o, fmt.Errorf("bench: unknown algorithm %d", a)
		}
	}
	for _, n := range o.Lanes {
		if n < 1 || n > MaxLanes {
			return o, fmt.Errorf("bench: %d lanes: want 1 to %d", n, MaxLanes)
		}
	}
	for _, p := range o.Placements {
		if p != stage.Fused && p != stage.Split {
			return o, fmt.Errorf("bench: unknown placement %v", p)
		}
	}
	switch {
	case o.Duration < 0:
		return o, fmt.Errorf("bench: duration %v: want more than 0", o.Duration)
	case o.Warmup < 0:
		return o, fmt.Errorf("bench: warmup %v: want 0 or more", o.Warmup)
	case o.RawDuration < 0:
		return o, fmt.Errorf("bench: raw duration %v: want more than 0", o.RawDuration)
	case !(o.Load > 0 && o.Load <= 1):
		return o, fmt.Errorf("bench: load %v: want more than 0 and at most 1", o.Load)
	case o.Poll < 0 || o.Poll > time.Second:
		return o, fmt.Errorf("bench: poll time %v: want 0 to 1s", o.Poll)
	case o.InFlight < 1 || o.InFlight > 1<<16:
		return o, fmt.Errorf("bench: %d packets in flight: want 1 to 65536", o.InFlight)
	case o.Burst < 1 || o.Burst > stage.MaxBurst:
		return o, fmt.Errorf("bench: burst %d: want 1 to %d", o.Burst, stage.MaxBurst)
	case o.SAsPerLane < 1 || o.SAsPerLane > 64:
		return o, fmt.Errorf("bench: %d SAs per lane: want 1 to 64", o.SAsPerLane)
	case o.Repeat < 1 || o.Repeat > MaxRepeat:
		return o, fmt.Errorf("bench: repeat %d: want 1 to %d passes", o.Repeat, MaxRepeat)
	}
	return o, nil
}
