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
