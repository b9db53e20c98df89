package bench

import (
	"reflect"
	"testing"
	"time"

	"github.com/ov2dev/ov2/stage"
)

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want Size
		wire float64
	}{
		{"64", Size{Kind: Fixed, Bytes: 64}, 64},
		{"1400", Size{Kind: Fixed, Bytes: 1400}, 1400},
		{" 1400B ", Size{Kind: Fixed, Bytes: 1400}, 1400},
		{"2048", Size{Kind: Fixed, Bytes: 2048}, 2048},
		{"imix", Size{Kind: IMIX}, (7*64 + 4*576 + 1500) / 12.0},
		{"IMIX", Size{Kind: IMIX}, (7*64 + 4*576 + 1500) / 12.0},
		{"lso64k", Size{Kind: LSO64K}, LSOSegmentWire},
	}
	for _, tc := range good {
		s, err := ParseSize(tc.in)
		if err != nil || s != tc.want || s.MeanWire() != tc.wire {
			t.Errorf("ParseSize(%q) = %+v, %v (mean wire %v); want %+v, %v", tc.in, s, err, s.MeanWire(), tc.want, tc.wire)
		}
	}
	bad := []struct{ in, msg string }{
		{"0", "0 bytes is out of range: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{"60", "60 bytes is out of range: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{"4096", "4096 bytes is out of range: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{"65", "65 bytes is not a multiple of 4, which every IPv4 transport ESP packet with a 16-byte ICV is: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{"foo", `"foo" is not a size: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k`},
		{"-64", "-64 bytes is out of range: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{"", "empty size: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
	}
	for _, tc := range bad {
		if _, err := ParseSize(tc.in); err == nil || err.Error() != tc.msg {
			t.Errorf("ParseSize(%q) error %v; want %q", tc.in, err, tc.msg)
		}
	}
	if _, err := ParseSizes("64,imix,64"); err == nil || err.Error() != "size 64 is listed twice" {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ParseSizes("64,,1400"); err == nil || err.Error() != "empty size: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k" {
		t.Errorf("empty element: %v", err)
	}
	ss, err := ParseSizes("64,1400,imix,lso64k")
	if err != nil || len(ss) != 4 || ss[2].String() != "imix" || ss[1].Label() != "1400B" || ss[3].Label() != "lso64k" {
		t.Errorf("ParseSizes = %v, %v", ss, err)
	}
}

// Every fixed size frames to exactly its wire size, with a payload that holds a UDP header.
func TestPayloadFor(t *testing.T) {
	for w := MinSize; w <= MaxSize; w += 4 {
		p := payloadFor(w)
		if p < 8 || 20+16+p+2+16 != w || (p+2)%4 != 0 {
			t.Fatalf("wire %d: payload %d", w, p)
		}
	}
}

// IMIX is exactly 7:4:1 of 64, 576 and 1500 bytes in each cycle of 12, and interleaved:
// no two 576s and never the 1500 next to a 576.
func TestIMIXPattern(t *testing.T) {
	p := Size{Kind: IMIX}.Pattern()
	if len(p) != 12 {
		t.Fatalf("pattern of %d", len(p))
	}
	count := map[int]int{}
	for _, n := range p {
		count[n]++
	}
	if !reflect.DeepEqual(count, map[int]int{64: 7, 576: 4, 1500: 1}) {
		t.Fatalf("counts %v, want 7:4:1 of 64/576/1500", count)
	}
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		if a != 64 && b != 64 {
			t.Errorf("positions %d and %d: %d then %d, want a 64 between larger packets", i, i+1, a, b)
		}
	}
	// Over whole cycles the byte share is exact.
	if got, want := (Size{Kind: IMIX}).MeanWire(), float64(7*64+4*576+1500)/12; got != want {
		t.Errorf("mean %v, want %v", got, want)
	}
}

func TestParseOthers(t *testing.T) {
	if ms, err := ParseModes("encrypt,DECRYPT,roundtrip"); err != nil || !reflect.DeepEqual(ms, []Mode{Encrypt, Decrypt, Roundtrip}) {
		t.Errorf("ParseModes = %v, %v", ms, err)
	}
	if as, err := ParseAlgos("aes128gcm,aes256gcm,gmac"); err != nil || !reflect.DeepEqual(as, []Algo{AES128GCM, AES256GCM, GMAC}) {
		t.Errorf("ParseAlgos = %v, %v", as, err)
	}
	if ls, err := ParseLanes("1, 2,4"); err != nil || !reflect.DeepEqual(ls, []int{1, 2, 4}) {
		t.Errorf("ParseLanes = %v, %v", ls, err)
	}
	if ps, err := ParsePlacements("both"); err != nil || !reflect.DeepEqual(ps, []stage.Placement{stage.Fused, stage.Split}) {
		t.Errorf("ParsePlacements = %v, %v", ps, err)
	}
	for in, want := range map[string]float64{"50%": 0.5, "100%": 1, "0.25": 0.25, "1": 1, "12.5%": 0.125} {
		if got, err := ParseLoad(in); err != nil || got != want {
			t.Errorf("ParseLoad(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	errs := []struct {
		err error
		msg string
	}{
		{second(ParseMode("bogus")), `"bogus" is not a mode: want encrypt, decrypt or roundtrip`},
		{second(ParseModes("encrypt,encrypt")), "mode encrypt is listed twice"},
		{second(ParseAlgo("aes")), `"aes" is not an algorithm: want aes128gcm, aes256gcm, gmac, aes128cbc-sha256, aes256cbc-sha1, null-sha256 or ah-sha256`},
		{second(ParseLanes("0")), "0 lanes: want 1 to 64"},
		{second(ParseLanes("65")), "65 lanes: want 1 to 64"},
		{second(ParseLanes("x")), `"x" is not a lane count: want 1 to 64`},
		{second(ParseLanes("2,2")), "2 lanes is listed twice"},
		{second(ParsePlacements("fuzed")), `"fuzed" is not a placement: want fused, split or both`},
		{second(ParseLoad("150%")), "150% is out of range: want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)"},
		{second(ParseLoad("0%")), "0% is out of range: want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)"},
		{second(ParseLoad("1.5")), "1.5 is out of range: want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)"},
		{second(ParseLoad("half")), `"half" is not a load: want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)`},
		{second(ParseLoad("NaN")), `"NaN" is not a load: want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)`},
	}
	for _, e := range errs {
		if e.err == nil || e.err.Error() != e.msg {
			t.Errorf("error %v; want %q", e.err, e.msg)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestOptionsDefaultsAndErrors(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.Duration != 3*time.Second || o.Load != 1 || o.InFlight != 1024 || o.Burst != 32 ||
		len(o.Sizes) != 3 || o.RawDuration != time.Second || o.SAsPerLane != 4 || o.Repeat != 1 {
		t.Fatalf("defaults %+v, %v", o, err)
	}
	for _, tc := range []struct {
		o   Options
		msg string
	}{
		{Options{Duration: -time.Second}, "bench: duration -1s: want more than 0"},
		{Options{Warmup: -time.Second}, "bench: warmup -1s: want 0 or more"},
		{Options{Load: 1.5}, "bench: load 1.5: want more than 0 and at most 1"},
		{Options{Lanes: []int{0}}, "bench: 0 lanes: want 1 to 64"},
		{Options{Sizes: []Size{{Kind: Fixed, Bytes: 63}}}, "bench: size 63: want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"},
		{Options{Burst: 65}, "bench: burst 65: want 1 to 64"},
		{Options{Repeat: -1}, "bench: repeat -1: want 1 to 100 passes"},
		{Options{Repeat: 101}, "bench: repeat 101: want 1 to 100 passes"},
	} {
		if _, err := tc.o.withDefaults(); err == nil || err.Error() != tc.msg {
			t.Errorf("%+v: %v; want %q", tc.o, err, tc.msg)
		}
	}
}
