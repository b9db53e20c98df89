package xfrm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
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

// group is the words of one state or policy: a `src` line or command and the lines that
// continue it.
type group struct {
	toks []token
	line int
	kind groupKind
}

// groupKind says what a group is: what its command adds, or, for a `src` line, undecided
// until parseAll looks at its words (see isPolicy).
type groupKind uint8

const (
	srcGroup groupKind = iota
	stateGroup
	policyGroup
)

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

// parse reads states only, as Parse always has: see Parse.
func parse(name, data string) ([]State, error) {
	c, err := parseAll(name, data, true)
	if err != nil {
		return nil, err
	}
	return c.States, nil
}

// policyWords are words only a policy has; a `src` line whose group holds one, or whose src
// is a prefix (a state's is an address), is a policy.
var policyWords = map[string]bool{"tmpl": true, "ptype": true, "priority": true, "socket": true, "action": true}

func isPolicy(t []token) bool {
	if len(t) > 1 && strings.Contains(t[1].text, "/") {
		return true
	}
	for i, w := range t {
		// A device name (offload dev DEV) is the one word a state takes that could be any.
		if policyWords[w.text] && (i == 0 || t[i-1].text != "dev") {
			return true
		}
	}
	return false
}

// parseAll reads a file into states and, unless aeadOnly, policies, and binds the policies to
// the states.
func parseAll(name, data string, aeadOnly bool) (*Config, error) {
	// A byte order mark, which some editors put at the start of a UTF-8 file, is not part
	// of the first line: left there it made "ip xfrm state add" an unknown first word, an
	// error about a line that looks right.
	data = strings.TrimPrefix(data, "\uFEFF")
	lines, err := lex(name, data)
	if err != nil {
		return nil, err
	}
	what, starts := "a state", `"src ADDR dst ADDR" or "ip xfrm state add"`
	if !aeadOnly {
		what, starts = "a state or policy", `"src ADDR dst ADDR", "ip xfrm state add" or "ip xfrm policy add"`
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
			rest, kind, ok, err := stripCommand(name, t, aeadOnly)
			if err != nil {
				return nil, err
			}
			if ok {
				groups = append(groups, group{rest, t[0].line, kind})
			}
		case first == "src":
			groups = append(groups, group{t, t[0].line, srcGroup})
		case ll.indented && len(groups) > 0:
			g := &groups[len(groups)-1]
			g.toks = append(g.toks, t...)
		case ll.indented:
			return nil, &Error{File: name, Line: t[0].line,
				Msg: "indented line outside any state; " + what + " starts with " + starts}
		default:
			return nil, &Error{File: name, Line: t[0].line,
				Msg: "a line that is not indented must start " + what + " with " + starts}
		}
	}

	c := &Config{}
	var spiLines, selLines []int
	for _, g := range groups {
		if !aeadOnly && (g.kind == policyGroup || g.kind == srcGroup && isPolicy(g.toks)) {
			pol, keep, err := parsePolicy(name, g)
			if err != nil {
				return nil, err
			}
			if keep {
				c.Policies = append(c.Policies, pol)
			}
			continue
		}
		p := &stateParser{words: newWords(name, g.toks, g.line), aeadOnly: aeadOnly}
		st, err := p.parse()
		if err != nil {
			return nil, err
		}
		c.States = append(c.States, st)
		spiLines = append(spiLines, p.seen["spi"].line)
		selLines = append(selLines, p.seen["sel"].line)
	}
	if i, j := duplicate(c.States); i >= 0 {
		return nil, &Error{File: name, Line: spiLines[i], Field: "spi",
			Msg: overlapMsg(&c.States[i], &c.States[j], spiLines[j])}
	}
	if err := bind(name, c, selLines); err != nil {
		return nil, err
	}
	return c, nil
}

// stripCommand removes `[sudo] ip [OPTIONS] xfrm state add` (or, unless aeadOnly, `... xfrm
// policy add`) from a line. ok is false for the command that prints a listing (`ip xfrm
// state`, `ip -s xfrm policy list`), which is skipped.
func stripCommand(name string, t []token, aeadOnly bool) (rest []token, kind groupKind, ok bool, err error) {
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
	accepted := `only "ip xfrm state add" commands are accepted`
	if !aeadOnly {
		accepted = `only "ip xfrm state add" and "ip xfrm policy add" commands are accepted`
	}
	bad := &Error{File: name, Line: t[0].line, Msg: fmt.Sprintf(`%s, not %q`, accepted, words())}
	if i >= len(t) || t[i].text != "ip" {
		return nil, 0, false, bad
	}
	for i++; i < len(t) && strings.HasPrefix(t[i].text, "-"); i++ {
		switch t[i].text {
		case "-f", "-family", "-n", "-netns":
			i++ // takes a value
		}
	}
	if i >= len(t) || !prefixOf(t[i].text, "xfrm", 1) {
		return nil, 0, false, bad
	}
	i++
	switch {
	case i < len(t) && (t[i].text == "sa" || prefixOf(t[i].text, "state", 1)):
		kind = stateGroup
	case i < len(t) && !aeadOnly && prefixOf(t[i].text, "policy", 1):
		kind = policyGroup
	default:
		return nil, 0, false, bad
	}
	i++
	if i == len(t) {
		return nil, 0, false, nil // `ip xfrm state`: the listing follows
	}
	switch cmd := t[i].text; {
	case prefixOf(cmd, "add", 1) || prefixOf(cmd, "update", 1):
	case (cmd == "list" || cmd == "show" || cmd == "ls") && i+1 == len(t):
		return nil, 0, false, nil
	default:
		return nil, 0, false, bad
	}
	if i+1 == len(t) {
		return nil, 0, false, &Error{File: name, Line: t[i].line, Msg: fmt.Sprintf("nothing after %q", words())}
	}
	return t[i+1:], kind, true, nil
}

// prefixOf says whether s abbreviates word the way iproute2's matches() allows.
func prefixOf(s, word string, min int) bool {
	return len(s) >= min && strings.HasPrefix(word, s)
}
