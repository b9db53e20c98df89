package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// command is one subcommand's flag set and help text. Every subcommand prints its help
// the same way: `ov2 NAME --help` (or -h) writes the synopsis, the description, the
// flags as --name VALUE with their defaults, and the footer to standard output and exits
// 0; a bad flag writes one line naming it, and where to find the help, to standard error
// and exits 2.
type command struct {
	name     string // "replay"
	synopsis string // "[flags] [INPUT]"
	about    string // paragraphs before the flags
	footer   string // paragraphs after them (examples, notes)
	fs       *flag.FlagSet
	stdout   io.Writer
	stderr   io.Writer
}

func newCommand(name, synopsis, about, footer string, stdout, stderr io.Writer) *command {
	c := &command{name: name, synopsis: synopsis, about: about, footer: footer,
		fs: flag.NewFlagSet("ov2 "+name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(io.Discard) // parse errors are reworded in --flag style by parse
	c.fs.Usage = func() {}
	return c
}

// parse parses args. On --help it prints the help and returns flag.ErrHelp (exit 0); on a
// bad flag it prints the reason and returns errUsage (exit 2).
func (c *command) parse(args []string) error {
	err := c.fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		c.help(c.stdout)
		return err
	}
	return c.usageError("%s", dashes(c.fs, err.Error()))
}

// usageError prints "ov2 NAME: <message>" and a pointer to the help on standard error.
func (c *command) usageError(format string, a ...any) error {
	fmt.Fprintf(c.stderr, "ov2 %s: %s\n", c.name, fmt.Sprintf(format, a...))
	fmt.Fprintf(c.stderr, "usage: ov2 %s %s (ov2 %s --help for the flags)\n", c.name, c.synopsis, c.name)
	return errUsage
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	invalidValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]*): (.*)$`)
	needsArgument = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
)

// dashes rewords the flag package's messages in the --flag style of the help. Where the
// flag package says only "parse error", the message says what the flag takes.
func dashes(fs *flag.FlagSet, msg string) string {
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown flag --%s", m[1])
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		reason := m[3]
		if reason == "parse error" {
			reason = wants(fs.Lookup(m[2]))
		}
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], reason)
	}
	if m := needsArgument.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("--%s needs a value", m[1])
	}
	return msg
}

// wants says what kind of value a flag of the flag package's own types takes.
func wants(f *flag.Flag) string {
	if f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case time.Duration:
				return "want a duration with its unit, such as 3s or 500ms"
			case int, int64, uint, uint64:
				return "want a whole number"
			case float64:
				return "want a number"
			case bool:
				return "want true or false"
			}
		}
	}
	return "not a valid value"
}

// help writes the whole help text.
func (c *command) help(w io.Writer) {
	fmt.Fprintf(w, "usage: ov2 %s %s\n\n", c.name, c.synopsis)
	if c.about != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(c.about))
	}
	fmt.Fprintln(w, "flags:")
	type row struct{ left, text string }
	var rows []row
	width := 0
	c.fs.VisitAll(func(f *flag.Flag) {
		value, text := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if value != "" {
			left += " " + value
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" && !strings.Contains(text, "(default") {
			text += fmt.Sprintf(" (default %s)", d)
		}
		rows = append(rows, row{left, text})
		width = max(width, len(left))
	})
	const lineWidth = 92
	for _, r := range rows {
		indent := 2 + width + 2
		words := strings.Fields(r.text)
		line := fmt.Sprintf("  %-*s  ", width, r.left)
		n := len(line)
		for i, word := range words {
			if i > 0 && n+1+len(word) > lineWidth {
				fmt.Fprintln(w, strings.TrimRight(line, " "))
				line, n = strings.Repeat(" ", indent)+word, indent+len(word)
				continue
			}
			if i > 0 {
				line += " "
				n++
			}
			line += word
			n += len(word)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if c.footer != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.footer))
	}
}
