package xfrm

import "strings"

// token is one shell-like word and the physical line it is on.
type token struct {
	text string
	line int
}

// logicalLine is one line after joining `\` continuations and dropping comments.
type logicalLine struct {
	toks     []token
	line     int  // first physical line
	indented bool // the first physical line starts with a space or tab
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// lex splits the input into logical lines of words, the way a shell would for the lines
// people paste: words are split at blanks, '…' and "…" quote, a backslash escapes the next
// character, a backslash at the end of a line (blanks after it allowed) continues the line,
// and # at the start of a word comments out the rest of the line.
func lex(name, data string) ([]logicalLine, error) {
	var out []logicalLine
	var cur *logicalLine
	for i, raw := range strings.Split(data, "\n") {
		n := i + 1
		if cur == nil {
			cur = &logicalLine{line: n, indented: raw != "" && (raw[0] == ' ' || raw[0] == '\t')}
		}
		cont, err := lexPhysical(name, raw, n, cur)
		if err != nil {
			return nil, err
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil { // the input ended in a continuation
		out = append(out, *cur)
	}
	return out, nil
}

// lexPhysical appends the words of one physical line to cur and says whether the line
// continues on the next.
func lexPhysical(name, s string, n int, cur *logicalLine) (cont bool, err error) {
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] == '#' {
			return false, nil
		}
		if s[i] == '\\' && blank(s[i+1:]) {
			return true, nil
		}
		var b []byte
	word:
		for i < len(s) && !isSpace(s[i]) {
			switch c := s[i]; c {
			case '\'':
				j := strings.IndexByte(s[i+1:], '\'')
				if j < 0 {
					return false, quoteErr(name, n, cur, '\'')
				}
				b = append(b, s[i+1:i+1+j]...)
				i += j + 2
			case '"':
				i++
				closed := false
				for i < len(s) {
					if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
						b = append(b, s[i+1])
						i += 2
						continue
					}
					if s[i] == '"' {
						closed = true
						i++
						break
					}
					b = append(b, s[i])
					i++
				}
				if !closed {
					return false, quoteErr(name, n, cur, '"')
				}
			case '\\':
				if blank(s[i+1:]) {
					cont = true
					i = len(s)
					break word
				}
				b = append(b, s[i+1])
				i += 2
			default:
				b = append(b, c)
				i++
			}
		}
		cur.toks = append(cur.toks, token{string(b), n})
		if cont {
			return true, nil
		}
	}
}

func quoteErr(name string, n int, cur *logicalLine, q byte) error {
	field := ""
	if len(cur.toks) > 0 {
		field = cur.toks[len(cur.toks)-1].text
	}
	return &Error{File: name, Line: n, Field: field, Msg: "unterminated " + string(q) + " quote"}
}
