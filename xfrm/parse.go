package xfrm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
)

// ParseFile reads the states in a file; see Parse. An unreadable file gives an *Error that
// names the path.
func ParseFile(path string) ([]State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Op + ": " + pe.Err.Error()
		}
		return nil, &Error{File: path, Msg: msg, err: err}
	}
	return parse(path, string(data))
}

// Parse reads states written as `ip xfrm state add` commands, as the listing `ip xfrm state`
// prints, or both (see the package documentation). name is the file name errors give. Every
// error is an *Error.
func Parse(name string, r io.Reader) ([]State, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Msg: "read: " + err.Error(), err: err}
	}
	return parse(name, string(data))
}

// group is the words of one state: a `src` line or command and the lines that continue it.
type group struct {
	toks []token
	line int
}

// Informational blocks of `ip -s xfrm state` whose indented lines carry nothing we use.
type block int

const (
	noBlock block = iota
	lifetimeConfig
	lifetimeCurrent
	statsBlock
)

func blockStart(t []token) block {
	switch {
	case len(t) == 2 && t[0].text == "lifetime" && t[1].text == "config:":
		return lifetimeConfig
	case len(t) == 2 && t[0].text == "lifetime" && t[1].text == "current:":
		return lifetimeCurrent
	case len(t) == 1 && t[0].text == "stats:":
		return statsBlock
	}
	return noBlock
}

// inBlock says whether a line has the shape iproute2 prints inside the block.
func inBlock(b block, t []token) bool {
	first := t[0].text
	switch b {
	case lifetimeConfig: // "limit: soft (INF)(bytes), hard (INF)(bytes)", "expire add: soft 0(sec), ..."
		return first == "limit:" || first == "expire" && len(t) > 1 && (t[1].text == "add:" || t[1].text == "use:")
	case lifetimeCurrent: // "0(bytes), 0(packets)", "add 2024-05-01 10:00:00 use -"
		return strings.HasSuffix(first, "(bytes),") || first == "add" && hasWord(t, "use")
	case statsBlock: // "replay-window 0 replay 0 failed 0"
		return first == "replay-window" && len(t) == 6 && t[2].text == "replay" && t[4].text == "failed" ||
			first == "failed"
	}
	return false
}

func hasWord(t []token, w string) bool {
	for _, x := range t {
		if x.text == w {
			return true
		}
	}
	return false
}

func parse(name, data string) ([]State, error) {
	lines, err := lex(name, data)
	if err != nil {
		return nil, err
	}
	var groups []group
	blk := noBlock
	for _, ll := range lines {
		t := ll.toks
		if len(t) == 0 {
			continue
		}
		if blk != noBlock && inBlock(blk, t) {
			continue
		}
		if blk = blockStart(t); blk != noBlock {
			continue
		}
		switch first := t[0].text; {
		case first == "sudo" || first == "ip":
			rest, ok, err := stripCommand(name, t)
			if err != nil {
				return nil, err
			}
			if ok {
				groups = append(groups, group{rest, t[0].line})
			}
		case first == "src":
			groups = append(groups, group{t, t[0].line})
		case ll.indented && len(groups) > 0:
			g := &groups[len(groups)-1]
			g.toks = append(g.toks, t...)
		case ll.indented:
			return nil, &Error{File: name, Line: t[0].line,
				Msg: `indented line outside any state; a state starts with "src ADDR dst ADDR" or "ip xfrm state add"`}
		default:
			return nil, &Error{File: name, Line: t[0].line,
				Msg: `a line that is not indented must start a state with "src ADDR dst ADDR" or "ip xfrm state add"`}
		}
	}

	states := make([]State, 0, len(groups))
	spiLines := make([]int, 0, len(groups))
	for _, g := range groups {
		p := &stateParser{file: name, toks: g.toks, start: g.line, seen: map[string]token{}}
		st, err := p.parse()
		if err != nil {
			return nil, err
		}
		states = append(states, st)
		spiLines = append(spiLines, p.seen["spi"].line)
	}
	if i, j := duplicate(states); i >= 0 {
		return nil, &Error{File: name, Line: spiLines[i], Field: "spi",
			Msg: overlapMsg(&states[i], &states[j], spiLines[j])}
	}
	return states, nil
}

// stripCommand removes `[sudo] ip [OPTIONS] xfrm state add` from a line. ok is false for the
// command that prints a listing (`ip xfrm state`, `ip -s xfrm state list`), which is skipped.
func stripCommand(name string, t []token) (rest []token, ok bool, err error) {
	i := 0
	if t[i].text == "sudo" {
		for i++; i < len(t) && strings.HasPrefix(t[i].text, "-"); i++ {
		}
	}
	words := func() string {
		var w []string
		for _, x := range t {
			w = append(w, x.text)
		}
		return strings.Join(w, " ")
	}
	bad := &Error{File: name, Line: t[0].line,
		Msg: fmt.Sprintf(`only "ip xfrm state add" commands are accepted, not %q`, words())}
	if i >= len(t) || t[i].text != "ip" {
		return nil, false, bad
	}
	for i++; i < len(t) && strings.HasPrefix(t[i].text, "-"); i++ {
		switch t[i].text {
		case "-f", "-family", "-n", "-netns":
			i++ // takes a value
		}
	}
	if i >= len(t) || !prefixOf(t[i].text, "xfrm", 1) {
		return nil, false, bad
	}
	i++
	if i >= len(t) || !(t[i].text == "sa" || prefixOf(t[i].text, "state", 1)) {
		return nil, false, bad
	}
	i++
	if i == len(t) {
		return nil, false, nil // `ip xfrm state`: the listing follows
	}
	switch cmd := t[i].text; {
	case prefixOf(cmd, "add", 1) || prefixOf(cmd, "update", 1):
	case (cmd == "list" || cmd == "show" || cmd == "ls") && i+1 == len(t):
		return nil, false, nil
	default:
		return nil, false, bad
	}
	if i+1 == len(t) {
		return nil, false, &Error{File: name, Line: t[i].line, Msg: fmt.Sprintf("nothing after %q", words())}
	}
	return t[i+1:], true, nil
}

// prefixOf says whether s abbreviates word the way iproute2's matches() allows.
func prefixOf(s, word string, min int) bool {
	return len(s) >= min && strings.HasPrefix(word, s)
}

// stateParser reads the words of one state.
type stateParser struct {
	file  string
	toks  []token
	i     int
	start int
	st    State

	seen    map[string]token // canonical field → the keyword that set it
	lastKey string

	alg                 esp.Algorithm
	seqLo, seqHi        uint32
	oseqLo, oseqHi      uint32
	windowXS, windowESN uint64
}

func (p *stateParser) errf(t token, field, format string, args ...any) *Error {
	return &Error{File: p.file, Line: t.line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (p *stateParser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

// value returns the word after keyword key.
func (p *stateParser) value(key token) (token, error) {
	if p.i < len(p.toks) {
		p.i++
		return p.toks[p.i-1], nil
	}
	return token{}, p.errf(key, key.text, "missing value")
}

// once records that key set the canonical field, failing the second time.
func (p *stateParser) once(canon string, key token) error {
	if prev, ok := p.seen[canon]; ok {
		return p.errf(key, key.text, "given twice (first on line %d)", prev.line)
	}
	p.seen[canon] = key
	return nil
}

// number parses the word after key (a trailing comma, as the listing prints, is dropped).
func (p *stateParser) number(key token, max uint64) (uint64, error) {
	v, err := p.value(key)
	if err != nil {
		return 0, err
	}
	n, msg := parseNum(strings.TrimSuffix(v.text, ","), max)
	if msg != "" {
		return 0, p.errf(v, key.text, "%s", msg)
	}
	return n, nil
}

// parseNum reads decimal or 0x hex. A leading 0 is refused: iproute2 would read it as octal,
// and a config file that means decimal would silently get another number.
func parseNum(s string, max uint64) (uint64, string) {
	var n uint64
	var err error
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		n, err = strconv.ParseUint(s[2:], 16, 64)
	case s == "" || s[0] < '0' || s[0] > '9':
		return 0, fmt.Sprintf("%q is not a number", s)
	case len(s) > 1 && s[0] == '0':
		if _, e := strconv.ParseUint(s, 10, 64); e != nil {
			return 0, fmt.Sprintf("%q is not a number", s)
		}
		return 0, fmt.Sprintf("%q has a leading 0, which iproute2 reads as octal; write it in decimal or with 0x", s)
	default:
		n, err = strconv.ParseUint(s, 10, 64)
	}
	if errors.Is(err, strconv.ErrRange) || err == nil && n > max {
		return 0, fmt.Sprintf("%q is out of range (at most %d)", s, max)
	}
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number", s)
	}
	return n, ""
}

// number32Stats reads a 32-bit number that `ip -s` may print with its other base in parentheses:
// "0x00001001(4097)", "1(0x00000001)".
func (p *stateParser) number32Stats(key token) (uint32, error) {
	v, err := p.value(key)
	if err != nil {
		return 0, err
	}
	s := v.text
	var alt string
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s, alt = s[:i], s[i+1:len(s)-1]
	}
	n, msg := parseNum(s, math.MaxUint32)
	if msg == "" && alt != "" {
		if m, msg2 := parseNum(alt, math.MaxUint32); msg2 != "" || m != n {
			msg = fmt.Sprintf("%q: %s and %s are not the same number", v.text, s, alt)
		}
	}
	if msg != "" {
		return 0, p.errf(v, key.text, "%s", msg)
	}
	return uint32(n), nil
}

func (p *stateParser) addr(key token) (netip.Addr, error) {
	v, err := p.value(key)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(v.text)
	if err != nil {
		return netip.Addr{}, p.errf(v, key.text, "%q is not an IP address", v.text)
	}
	if a.Zone() != "" {
		return netip.Addr{}, p.errf(v, key.text, "%q has an IPv6 zone, which is not supported", v.text)
	}
	return a, nil
}

func (p *stateParser) prefix(key token, field string) (netip.Prefix, error) {
	v, err := p.value(key)
	if err != nil {
		return netip.Prefix{}, err
	}
	if !strings.Contains(v.text, "/") {
		a, err := netip.ParseAddr(v.text)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, p.errf(v, field, "%q is not an IP address or prefix", v.text)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pf, err := netip.ParsePrefix(v.text)
	if err != nil {
		return netip.Prefix{}, p.errf(v, field, "%q is not an IP address or prefix", v.text)
	}
	return pf.Masked(), nil
}

// Known flags: esn matters, the rest are accepted and have no effect on the offload.
var flagBits = map[string]uint8{
	"noecn": 1, "decap-dscp": 2, "nopmtudisc": 4, "wildrecv": 8,
	"icmp": 16, "af-unspec": 32, "align4": 64, "esn": 128,
}

const flagESN = 128

const supportedAlgs = "aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC)"

// Keywords iproute2 knows that change what the SA does in ways this offload does not model.
var unsupported = map[string]bool{
	"coa": true, "ctx": true, "extra-flag": true, "tfcpad": true, "cpu": true,
	"security": true, "iptfs-opts": true, "tmpl": true,
}

func (p *stateParser) parse() (State, error) {
	p.st = State{File: p.file, Line: p.start, Mode: host.Transport}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		if err := p.keyword(t); err != nil {
			return State{}, err
		}
		p.lastKey = t.text
	}
	return p.finish()
}

func (p *stateParser) keyword(t token) error {
	switch t.text {
	case "src", "dst":
		if err := p.once(t.text, t); err != nil {
			return err
		}
		a, err := p.addr(t)
		if err != nil {
			return err
		}
		if t.text == "src" {
			p.st.Src = a
		} else {
			p.st.Dst = a
		}

	case "proto":
		if err := p.once("proto", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if v.text != "esp" {
			return p.errf(v, "proto", "protocol %q is not supported; only esp is", v.text)
		}

	case "spi":
		if err := p.once("spi", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		if n == 0 {
			return p.errf(t, "spi", "SPI 0 is reserved")
		}
		p.st.SPI = n

	case "reqid":
		if err := p.once("reqid", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		p.st.ReqID = n

	case "mode":
		if err := p.once("mode", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "transport":
			p.st.Mode = host.Transport
		case "tunnel":
			p.st.Mode = host.Tunnel
		default:
			return p.errf(v, "mode", "mode %q is not supported; want transport or tunnel", v.text)
		}

	case "flag":
		return p.flags(t)

	case "replay-window":
		// The command's window, or (a trailing comma) the window in the listing's ESN
		// context as iproute2 prints it for an SA with a direction.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") {
			return p.window(t, "replay-window-esn", &p.windowESN)
		}
		return p.window(t, "replay-window", &p.windowXS)
	case "replay_window": // the listing's ESN context
		return p.window(t, "replay-window-esn", &p.windowESN)

	case "replay-seq", "replay-oseq", "replay-seq-hi", "replay-oseq-hi":
		return p.seq(t, t.text)
	case "seq-hi", "oseq-hi", "oseq": // the listing's replay context
		return p.seq(t, "replay-"+t.text)
	case "seq":
		// In a replay context ("seq 0x0, oseq 0x0" or "seq-hi 0x0, seq 0x5") it is the last
		// inbound number; alone (`seq SEQ`, or `ip -s`'s "seq 0x00000000") it is the
		// state's netlink sequence, which means nothing here.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") || p.lastKey == "seq-hi" || p.lastKey == "anti-replay" {
			return p.seq(t, "replay-seq")
		}
		_, err := p.value(t)
		return err
	case "anti-replay": // "anti-replay context:" or "anti-replay esn context:"
		v, err := p.value(t)
		if err == nil && v.text == "esn" {
			v, err = p.value(t)
		}
		if err != nil || v.text != "context:" {
			return p.errf(t, t.text, `want "anti-replay context:" or "anti-replay esn context:"`)
		}
	case "bitmap": // non-ESN replay context: "bitmap 0x00000000"
		_, err := p.number(t, math.MaxUint32)
		return err
	case "bitmap-length": // ESN replay context; the bitmap words follow
		n, err := p.number(t, math.MaxUint32)
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			v, ok := p.peek()
			if !ok || !isHexWord(v.text) {
				break
			}
			p.i++
		}

	case "aead":
		return p.aead(t)
	case "enc", "auth", "auth-trunc", "comp":
		if v, ok := p.peek(); ok {
			return p.errf(t, t.text, "%s %q is not supported; only %s are", t.text, v.text, supportedAlgs)
		}
		return p.errf(t, t.text, "%s is not supported; only %s are", t.text, supportedAlgs)

	case "encap":
		return p.encap(t)
	case "sel":
		return p.sel(t)

	case "dir":
		if err := p.once("dir", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "in":
			p.st.Dir = In
		case "out":
			p.st.Dir = Out
		default:
			return p.errf(v, "dir", "dir %q is not valid; want in or out", v.text)
		}

	case "offload":
		return p.offload(t)
	case "crypto": // listing: "crypto offload parameters: dev eth0 dir out mode packet"
		return p.offloadListing(t)

	case "lastused": // listing: "lastused 2024-08-29 12:33:12" or "lastused -"
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if v.text == "-" {
			return nil
		}
		w, ok := p.peek()
		if !isDate(v.text) || !ok || !isTime(w.text) {
			return p.errf(v, t.text, "want lastused YYYY-MM-DD HH:MM:SS")
		}
		p.i++

	case "if_id":
		_, err := p.number(t, math.MaxUint32)
		return err
	case "mark", "output-mark": // "mark 5 [mask 0xff]" or, listed, "mark 0x5/0xff"
		v, err := p.value(t)
		if err != nil {
			return err
		}
		val, mask, hasMask := strings.Cut(v.text, "/")
		if _, msg := parseNum(val, math.MaxUint32); msg != "" {
			return p.errf(v, t.text, "%s", msg)
		}
		if hasMask {
			if _, msg := parseNum(mask, math.MaxUint32); msg != "" {
				return p.errf(v, t.text, "%s", msg)
			}
		} else if m, ok := p.peek(); ok && m.text == "mask" {
			p.i++
			_, err := p.number(m, math.MaxUint32)
			return err
		}
	case "limit":
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "time-soft", "time-hard", "time-use-soft", "time-use-hard",
			"byte-soft", "byte-hard", "packet-soft", "packet-hard":
			_, err := p.number(v, math.MaxUint64)
			return err
		}
		return p.errf(v, "limit", "unknown limit %q", v.text)

	default:
		if unsupported[t.text] {
			return p.errf(t, t.text, "not supported")
		}
		return p.errf(t, t.text, "unknown keyword")
	}
	return nil
}

func (p *stateParser) window(t token, canon string, dst *uint64) error {
	if err := p.once(canon, t); err != nil {
		return err
	}
	n, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	if n > maxWindow {
		return p.errf(t, t.text, "replay window %d is larger than %d, the Linux limit", n, maxWindow)
	}
	*dst = n
	return nil
}

func (p *stateParser) seq(t token, canon string) error {
	if err := p.once(canon, t); err != nil {
		return err
	}
	n, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	switch canon {
	case "replay-seq":
		p.seqLo = uint32(n)
	case "replay-oseq":
		p.oseqLo = uint32(n)
	case "replay-seq-hi":
		p.seqHi = uint32(n)
	case "replay-oseq-hi":
		p.oseqHi = uint32(n)
	}
	return nil
}

func (p *stateParser) flags(t token) error {
	n := 0
	for {
		v, ok := p.peek()
		if !ok {
			break
		}
		if b, known := flagBits[v.text]; known {
			if b == flagESN {
				p.st.ESN = true
			}
		} else if bits, ok := flagMask(v.text); ok {
			if bits&flagESN != 0 {
				p.st.ESN = true
			}
		} else if !isStatsMask(v.text) {
			if n == 0 {
				return p.errf(v, "flag", "unknown flag %q; want esn, noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec or align4", v.text)
			}
			break
		}
		p.i++
		n++
	}
	if n == 0 {
		return p.errf(t, "flag", "missing value")
	}
	return nil
}

// flagMask reads flags given as a number: `flag 0x80` (the command), or the bits iproute2
// prints in hex after the names it knows ("flag af-unspec 80" from versions without esn).
func flagMask(s string) (uint8, bool) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	} else if len(s) > 2 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 8)
	return uint8(n), err == nil
}

// isStatsMask matches the "(0x00010000)" bit string `ip -s` prints after the flags.
func isStatsMask(s string) bool {
	if len(s) != 12 || !strings.HasPrefix(s, "(0x") || s[11] != ')' {
		return false
	}
	return strings.Trim(s[3:11], "01") == ""
}

func isHexWord(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func isDate(s string) bool { return matchDigits(s, "dddd-dd-dd") }
func isTime(s string) bool { return matchDigits(s, "dd:dd:dd") }

func matchDigits(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if pattern[i] == 'd' && (s[i] < '0' || s[i] > '9') || pattern[i] != 'd' && s[i] != pattern[i] {
			return false
		}
	}
	return true
}

func (p *stateParser) aead(t token) error {
	if err := p.once("aead", t); err != nil {
		return err
	}
	incomplete := p.errf(t, "aead", "incomplete; want aead ALGO KEY+SALT ICV-BITS")
	algo, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	switch algo.text {
	case nameGCM:
		p.alg = esp.AESGCM
	case nameGMAC:
		p.alg = esp.AESGMAC
	default:
		return p.errf(algo, "aead", "algorithm %q is not supported; only %s are", algo.text, supportedAlgs)
	}
	k, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	if k.text == "<<Keys" {
		return p.errf(k, "aead", `the key is hidden (a "nokeys" listing); paste one that shows keys`)
	}
	digits, isHex := strings.CutPrefix(k.text, "0x")
	if !isHex {
		digits, isHex = strings.CutPrefix(k.text, "0X")
	}
	keySalt, err := hex.DecodeString(digits)
	switch {
	case !isHex || digits == "":
		return p.errf(k, "aead", "key+salt %q is not 0x followed by hex digits", k.text)
	case len(digits)%2 != 0:
		return p.errf(k, "aead", "key+salt has an odd number of hex digits (%d)", len(digits))
	case err != nil:
		return p.errf(k, "aead", "key+salt %q is not 0x followed by hex digits", k.text)
	case len(keySalt) != 20 && len(keySalt) != 28 && len(keySalt) != 36:
		return p.errf(k, "aead", "key+salt is %d bytes; want 20, 28 or 36 (16, 24 or 32-byte AES key + 4-byte salt)", len(keySalt))
	}
	// `ip -s` shows the key length after the key: "0x… (160 bits)".
	if b, ok := p.peek(); ok && strings.HasPrefix(b.text, "(") && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "bits)" {
		if n, msg := parseNum(b.text[1:], math.MaxUint32); msg != "" || n != uint64(8*len(keySalt)) {
			return p.errf(b, "aead", "key+salt is %d bits, not %s", 8*len(keySalt), b.text[1:])
		}
		p.i += 2
	}
	if _, ok := p.peek(); !ok {
		return incomplete
	}
	bits, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	if p.alg == esp.AESGMAC && bits != 128 {
		return p.errf(p.toks[p.i-1], "aead", "ICV length %d bits is not valid with %s; want 128", bits, nameGMAC)
	}
	if bits != 64 && bits != 96 && bits != 128 {
		return p.errf(p.toks[p.i-1], "aead", "ICV length %d bits is not valid; want 64, 96 or 128", bits)
	}
	p.st.Alg = p.alg
	p.st.Key = keySalt[:len(keySalt)-4]
	copy(p.st.Salt[:], keySalt[len(keySalt)-4:])
	p.st.ICVLen = int(bits / 8)
	return nil
}

func (p *stateParser) encap(t token) error {
	if err := p.once("encap", t); err != nil {
		return err
	}
	typ, err := p.value(t)
	if err != nil {
		return err
	}
	listing := typ.text == "type" // "encap type espinudp sport 4500 dport 4500 addr 0.0.0.0"
	if listing {
		if typ, err = p.value(t); err != nil {
			return err
		}
	}
	switch typ.text {
	case "espinudp":
	case "espinudp-nonike", "espintcp":
		return p.errf(typ, "encap", "encap type %q is not supported; want espinudp (RFC 3948)", typ.text)
	default:
		return p.errf(typ, "encap", "unknown encap type %q; want espinudp", typ.text)
	}
	e := &Encap{}
	for _, f := range []struct {
		word string
		port *uint16
	}{{"sport", &e.SPort}, {"dport", &e.DPort}} {
		if listing {
			if w, err := p.value(t); err != nil || w.text != f.word {
				return p.errf(t, "encap", "want encap type espinudp sport PORT dport PORT addr ADDR")
			}
		}
		n, err := p.number(t, math.MaxUint16)
		if err != nil {
			return err
		}
		*f.port = uint16(n)
	}
	if listing {
		if w, err := p.value(t); err != nil || w.text != "addr" {
			return p.errf(t, "encap", "want encap type espinudp sport PORT dport PORT addr ADDR")
		}
	}
	if e.OA, err = p.addr(t); err != nil {
		return err
	}
	p.st.Encap = e
	return nil
}

func (p *stateParser) sel(t token) error {
	if err := p.once("sel", t); err != nil {
		return err
	}
	n := 0
	var src, dst bool
loop:
	for {
		w, ok := p.peek()
		if !ok {
			break
		}
		switch w.text {
		case "src", "dst":
			p.i++
			if w.text == "src" && src || w.text == "dst" && dst {
				return p.errf(w, "sel", "%s given twice", w.text)
			}
			pf, err := p.prefix(w, "sel")
			if err != nil {
				return err
			}
			if w.text == "src" {
				src, p.st.Sel.Src = true, pf
			} else {
				dst, p.st.Sel.Dst = true, pf
			}
		case "proto", "sport", "dport", "dev", "type", "code", "key":
			p.i++
			v, err := p.value(w)
			if err != nil {
				return p.errf(w, "sel", "missing value after %s", w.text)
			}
			// Values that select everything are the same as leaving the word out.
			if w.text == "proto" && (v.text == "any" || v.text == "0") ||
				(w.text == "sport" || w.text == "dport") && v.text == "0" ||
				w.text == "dev" && v.text == "none" {
				break
			}
			return p.errf(w, "sel", "selector %s %q is not supported; only src and dst prefixes are", w.text, v.text)
		default:
			break loop
		}
		n++
	}
	if n == 0 {
		return p.errf(t, "sel", "empty selector; want sel [src PREFIX] [dst PREFIX]")
	}
	s := p.st.Sel
	if s.Src.IsValid() && s.Dst.IsValid() && s.Src.Addr().Is4() != s.Dst.Addr().Is4() {
		return p.errf(t, "sel", "src %v and dst %v are different address families", s.Src, s.Dst)
	}
	return nil
}

// offload skips `offload [crypto|packet] dev DEV dir in|out`: which Linux device offloads the
// SA does not matter here, and its dir is not the SA's.
func (p *stateParser) offload(t token) error {
	bad := p.errf(t, "offload", "want offload [crypto|packet] dev DEV dir in|out")
	w, err := p.value(t)
	if err == nil && (w.text == "crypto" || w.text == "packet") {
		w, err = p.value(t)
	}
	if err != nil || w.text != "dev" {
		return bad
	}
	if _, err := p.value(t); err != nil {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "dir" {
		return bad
	}
	if d, err := p.value(t); err != nil || d.text != "in" && d.text != "out" {
		return bad
	}
	return nil
}

// offloadListing skips the listing's "crypto offload parameters: dev DEV [dir in|out] mode
// crypto|packet".
func (p *stateParser) offloadListing(t token) error {
	bad := p.errf(t, "crypto", "want crypto offload parameters: dev DEV [dir in|out] mode crypto|packet")
	if w, err := p.value(t); err != nil || w.text != "offload" {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "parameters:" {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "dev" {
		return bad
	}
	if _, err := p.value(t); err != nil {
		return bad
	}
	if w, ok := p.peek(); ok && w.text == "dir" {
		p.i++
		if d, err := p.value(t); err != nil || d.text != "in" && d.text != "out" {
			return bad
		}
	}
	if w, ok := p.peek(); ok && w.text == "mode" {
		p.i++
		if m, err := p.value(t); err != nil || m.text != "crypto" && m.text != "packet" {
			return bad
		}
	}
	return nil
}

func (p *stateParser) finish() (State, error) {
	st := &p.st
	start := token{line: p.start}
	for _, f := range []string{"src", "dst", "spi", "aead"} {
		if _, ok := p.seen[f]; !ok {
			return State{}, p.errf(start, f, "missing (every state needs src, dst, spi and aead)")
		}
	}
	if st.Src.Is4() != st.Dst.Is4() {
		return State{}, p.errf(p.seen["dst"], "dst", "%v (%s) and src %v (%s) are different address families",
			st.Dst, family(st.Dst), st.Src, family(st.Src))
	}
	if !st.ESN {
		for _, f := range []struct {
			canon string
			v     uint32
		}{{"replay-seq-hi", p.seqHi}, {"replay-oseq-hi", p.oseqHi}} {
			if f.v != 0 {
				k := p.seen[f.canon]
				return State{}, p.errf(k, k.text, "%#x needs flag esn: without ESN there are no high 32 bits", f.v)
			}
		}
	}
	st.Seq = uint64(p.seqHi)<<32 | uint64(p.seqLo)
	st.OSeq = uint64(p.oseqHi)<<32 | uint64(p.oseqLo)
	for _, f := range []struct {
		canon, verb string
		v           uint64
	}{{"replay-seq", "receive", st.Seq}, {"replay-oseq", "send", st.OSeq}} {
		if _, m := checkSeq(st.ESN, f.v, f.canon, f.verb); m != "" {
			k, ok := p.seen[f.canon]
			if !ok {
				k = p.seen[f.canon+"-hi"]
			}
			return State{}, p.errf(k, k.text, "%s", m)
		}
	}
	// Linux keeps a window up to 32 in the SA and a larger one (or any with ESN) in the
	// replay state: a listing shows both, one of them 0.
	w := p.windowXS
	if p.windowESN != 0 {
		if w != 0 && w != p.windowESN {
			k := p.seen["replay-window-esn"]
			return State{}, p.errf(k, k.text, "replay window %d differs from replay-window %d on line %d",
				p.windowESN, w, p.seen["replay-window"].line)
		}
		w = p.windowESN
	}
	st.ReplayWindow = int(w)
	return *st, nil
}
