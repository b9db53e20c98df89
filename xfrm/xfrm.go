package xfrm

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
)

// Dir is which way an SA carries traffic.
type Dir uint8

// Directions. The values follow the order of the API, not Linux's XFRM_SA_DIR_* numbers.
const (
	Both Dir = iota // no `dir`: the host offloads it as an outbound and an inbound SA
	In
	Out
)

// String gives the word `dir` takes ("in", "out"), or "both" for a state without one.
func (d Dir) String() string {
	switch d {
	case Both:
		return "both"
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "Dir(" + strconv.Itoa(int(d)) + ")"
}

// Encap is UDP encapsulation of ESP (RFC 3948), `encap espinudp SPORT DPORT OA`.
type Encap struct {
	SPort, DPort uint16
	OA           netip.Addr // original address for NAT-T checksum fix-up; 0.0.0.0 or :: when unused
}

// State is one SA as `ip xfrm state` describes it.
//
// An ESP state has either an aead (Alg, Key, Salt and ICVLen) or an enc and an auth (Enc,
// EncKey, Auth, AuthKey and AuthTrunc); an AH state has an auth only. The fields of the
// other kind are zero: Alg is 0 without an aead, Enc is NoEnc and Auth NoAuth with one.
type State struct {
	File string // where the state begins
	Line int

	Src, Dst netip.Addr
	Proto    Proto // ESP (the zero value) or AH
	SPI      uint32
	ReqID    uint32
	Mode     host.Mode     // host.Transport or host.Tunnel
	Alg      esp.Algorithm // aead: esp.AESGCM (rfc4106) or esp.AESGMAC (rfc4543); 0 without aead
	Key      []byte        // aead: 16, 24 or 32 bytes
	Salt     [4]byte       // aead
	ICVLen   int           // aead: bytes: 8, 12 or 16
	ESN      bool

	Enc       EncAlg  // ESP without aead: EncAESCBC or EncNull
	EncKey    []byte  // EncAESCBC: 16, 24 or 32 bytes; EncNull: nil
	Auth      AuthAlg // without aead (ESP) and AH: AuthSHA1 or AuthSHA256
	AuthKey   []byte  // AuthSHA1: 20 bytes; AuthSHA256: 32 bytes
	AuthTrunc int     // ICV bits: 96 with AuthSHA1, 128 with AuthSHA256

	ReplayWindow int    // 0 when not given
	Seq          uint64 // replay-seq-hi<<32 | replay-seq: last inbound sequence number seen
	OSeq         uint64 // replay-oseq-hi<<32 | replay-oseq: last outbound sequence number sent

	Encap *Encap        // nil without encap
	Sel   host.Selector // zero prefixes when absent
	Dir   Dir
}

// Outbound is the host configuration to send on the SA: it starts at the sequence number
// after the last one sent (OSeq+1). A selector of /0 on both sides is none (the listing's
// form of no selector). Every suite ParseConfig reads has its host form: an
// aead state's Alg, Key, Salt and ICVLen; an enc+auth state's Alg esp.AESCBC or esp.NULL
// with Key (EncKey) and Integrity and AuthKey (Auth, AuthKey); an AH state's Proto host.AH
// with Integrity and AuthKey. An ESP+AH bundle is the ESP state's config with AH set to the
// AH state's (Config.BundleOf).
func (s *State) Outbound() host.SAConfig {
	c := s.config()
	c.StartSeq = s.OSeq + 1
	return c
}

// Inbound is the host configuration to receive on the SA: it expects sequence numbers after
// the last one seen (Seq+1).
func (s *State) Inbound() host.SAConfig {
	c := s.config()
	c.StartSeq = s.Seq + 1
	return c
}

func (s *State) config() host.SAConfig {
	c := host.SAConfig{
		SPI:          s.SPI,
		Alg:          s.Alg,
		Key:          append([]byte(nil), s.Key...),
		Salt:         s.Salt,
		ICVLen:       s.ICVLen,
		ESN:          s.ESN,
		Mode:         s.Mode,
		Src:          s.Src,
		Dst:          s.Dst,
		Selector:     s.Sel,
		ReplayWindow: s.ReplayWindow,
	}
	// A listing prints "sel src 0.0.0.0/0 dst 0.0.0.0/0" for a state added without a
	// selector. As a host.Selector it would match every packet, and a transport SA would
	// take the traffic of every other SA after it; both sides /0 is no selector.
	if sel := c.Selector; sel.Src.IsValid() && sel.Dst.IsValid() && sel.Src.Bits() == 0 && sel.Dst.Bits() == 0 {
		c.Selector = host.Selector{}
	}
	if s.Proto == AH {
		c.Proto = host.AH
	}
	switch s.Enc {
	case EncAESCBC:
		c.Alg, c.Key = esp.AESCBC, append([]byte(nil), s.EncKey...)
	case EncNull:
		c.Alg, c.Key = esp.NULL, nil
	}
	switch s.Auth {
	case AuthSHA1:
		c.Integrity = esp.HMACSHA1_96
	case AuthSHA256:
		c.Integrity = esp.HMACSHA256_128
	}
	if s.Auth != NoAuth {
		c.AuthKey, c.ICVLen = append([]byte(nil), s.AuthKey...), 0
	}
	if s.Encap != nil {
		c.NATT = true
		c.SPort = s.Encap.SPort
		c.DPort = s.Encap.DPort
	}
	return c
}

// Error is every error this package returns: where (File, Line: 0 when the error is about the
// whole file), which field (the keyword as written; empty when the error is not about one),
// and what is wrong.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string

	err error // the underlying I/O error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	loc := e.File
	if e.Line > 0 {
		if loc == "" {
			loc = "line " + strconv.Itoa(e.Line)
		} else {
			loc += ":" + strconv.Itoa(e.Line)
		}
	}
	if loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the I/O error behind an Error from ParseFile or a failing reader.
func (e *Error) Unwrap() error { return e.err }

// maxWindow is the largest replay window Linux accepts (XFRMA_REPLAY_ESN_MAX, in packets).
const maxWindow = 4096

// Names of the two AEAD transforms as the kernel (and so `ip xfrm`) spells them.
const (
	nameGCM  = "rfc4106(gcm(aes))"
	nameGMAC = "rfc4543(gcm(aes))"
)

func algName(a esp.Algorithm) string {
	if a == esp.AESGMAC {
		return nameGMAC
	}
	return nameGCM
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// check says what is wrong with a state that Parse cannot have produced, as a field and a
// message; Format and WriteWiresharkKeys refuse such states. A state Parse returns always
// passes.
func check(s *State) (field, msg string) {
	switch {
	case s.SPI == 0:
		return "spi", "SPI 0 is reserved"
	case !s.Src.IsValid():
		return "src", "missing"
	case !s.Dst.IsValid():
		return "dst", "missing"
	case s.Src.Zone() != "" || s.Dst.Zone() != "":
		return "src", "an IPv6 zone is not supported"
	case s.Src.Is4() != s.Dst.Is4():
		return "dst", fmt.Sprintf("%v (%s) and src %v (%s) are different address families",
			s.Dst, family(s.Dst), s.Src, family(s.Src))
	case s.Mode != host.Transport && s.Mode != host.Tunnel:
		return "mode", fmt.Sprintf("mode %d is not host.Transport or host.Tunnel", s.Mode)
	}
	if f, m := checkAlgs(s); m != "" {
		return f, m
	}
	switch {
	case s.ReplayWindow < 0 || s.ReplayWindow > maxWindow:
		return "replay-window", fmt.Sprintf("replay window %d is not 0..%d", s.ReplayWindow, maxWindow)
	case s.Dir > Out:
		return "dir", fmt.Sprintf("%v is not both, in or out", s.Dir)
	}
	if f, m := checkSeq(s.ESN, s.Seq, "replay-seq", "receive"); m != "" {
		return f, m
	}
	if f, m := checkSeq(s.ESN, s.OSeq, "replay-oseq", "send"); m != "" {
		return f, m
	}
	if s.Encap != nil && (!s.Encap.OA.IsValid() || s.Encap.OA.Zone() != "") {
		return "encap", "the original address is missing or has an IPv6 zone"
	}
	for _, p := range []netip.Prefix{s.Sel.Src, s.Sel.Dst} {
		if p == (netip.Prefix{}) {
			continue
		}
		if !p.IsValid() || p.Addr().Zone() != "" || p != p.Masked() {
			return "sel", fmt.Sprintf("%v is not a prefix without host bits", p)
		}
	}
	if s.Sel.Src.IsValid() && s.Sel.Dst.IsValid() && s.Sel.Src.Addr().Is4() != s.Sel.Dst.Addr().Is4() {
		return "sel", fmt.Sprintf("src %v and dst %v are different address families", s.Sel.Src, s.Sel.Dst)
	}
	return "", ""
}

// checkSeq checks that a starting sequence state leaves a next number: without ESN the
// numbers are 32-bit, so the last one used may be at most 2^32-2.
func checkSeq(esn bool, v uint64, field, verb string) (string, string) {
	switch {
	case !esn && v > math.MaxUint32:
		return field + "-hi", fmt.Sprintf("sequence number %#x needs flag esn", v)
	case !esn && v == math.MaxUint32:
		return field, fmt.Sprintf("%#x leaves no sequence number to %s without flag esn", v, verb)
	case v == math.MaxUint64:
		return field, fmt.Sprintf("%#x leaves no sequence number to %s", v, verb)
	}
	return "", ""
}

// overlap says whether two states with the same SPI and destination would both be looked up
// for the same packets.
func overlap(a, b Dir) bool { return a == Both || b == Both || a == b }

// duplicate finds the first state that overlaps an earlier one: (later, earlier), or -1.
func duplicate(states []State) (int, int) {
	type key struct {
		spi uint32
		dst netip.Addr
	}
	seen := map[key][]int{}
	for i := range states {
		k := key{states[i].SPI, states[i].Dst}
		for _, j := range seen[k] {
			if overlap(states[i].Dir, states[j].Dir) {
				return i, j
			}
		}
		seen[k] = append(seen[k], i)
	}
	return -1, -1
}

// overlapMsg says which states overlap. The SPI and destination identify an SA whatever
// its protocol: the NIC looks inbound SAs up by them, so an AH and an ESP state may not
// share them either.
func overlapMsg(s, prev *State, prevLine int) string {
	return fmt.Sprintf("%sSA 0x%08x to %v (dir %v) overlaps the %sone on line %d (dir %v)",
		protoWord(s.Proto), s.SPI, s.Dst, s.Dir, protoWord(prev.Proto), prevLine, prev.Dir)
}

// protoWord is "AH " for AH and nothing for ESP, so messages about ESP read as before AH.
func protoWord(p Proto) string {
	if p == ESP {
		return ""
	}
	return strings.ToUpper(p.String()) + " "
}
