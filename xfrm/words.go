package xfrm

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// words reads the words of one state or policy: the helpers both parsers share.
type words struct {
	file  string
	toks  []token
	i     int
	start int              // the line the state or policy begins on
	seen  map[string]token // canonical field → the keyword that set it
}

func newWords(file string, toks []token, start int) words {
	return words{file: file, toks: toks, start: start, seen: map[string]token{}}
}

func (p *words) errf(t token, field, format string, args ...any) *Error {
	return &Error{File: p.file, Line: t.line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (p *words) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

// value returns the word after keyword key.
func (p *words) value(key token) (token, error) {
	if p.i < len(p.toks) {
		p.i++
		return p.toks[p.i-1], nil
	}
	return token{}, p.errf(key, key.text, "missing value")
}

// once records that key set the canonical field, failing the second time.
func (p *words) once(canon string, key token) error {
	if prev, ok := p.seen[canon]; ok {
		return p.errf(key, key.text, "given twice (first on line %d)", prev.line)
	}
	p.seen[canon] = key
	return nil
}

// number parses the word after key (a trailing comma, as the listing prints, is dropped).
func (p *words) number(key token, max uint64) (uint64, error) {
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
func (p *words) number32Stats(key token) (uint32, error) {
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

func (p *words) addr(key token) (netip.Addr, error) {
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

func (p *words) prefix(key token, field string) (netip.Prefix, error) {
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

// mark skips `mark VALUE [mask MASK]` or, as listed, "mark 0x5/0xff" (and output-mark).
func (p *words) mark(t token) error {
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
	return nil
}

// limit skips `limit KIND N`: lifetimes do not concern the offload.
func (p *words) limit(t token) error {
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
}
