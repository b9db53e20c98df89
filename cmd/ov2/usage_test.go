package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ov2dev/ov2/pcap"
)

// Every subcommand prints its help in one style: `ov2 NAME --help` and `-h` write
// "usage: ov2 NAME ...", then the flags as "--name VALUE" (never "-name"), to standard
// output with exit 0 and nothing on standard error.
func TestHelpOneStyle(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	for _, name := range []string{"replay", "bench", "caps", "gateway"} {
		for _, h := range []string{"--help", "-h"} {
			code, out, errOut := runCmd(name, h)
			if code != 0 || errOut != "" {
				t.Errorf("ov2 %s %s: exit %d, stderr %q; want 0 and nothing", name, h, code, errOut)
			}
			if !strings.HasPrefix(out, "usage: ov2 "+name+" ") || !strings.Contains(out, "\nflags:\n  --") ||
				!strings.Contains(out, "\n  --config FILE ") && name != "bench" {
				t.Errorf("ov2 %s %s: not the common help layout:\n%s", name, h, out)
			}
			if m := singleDash.FindString(out); m != "" {
				t.Errorf("ov2 %s %s: a flag in -flag style (%q):\n%s", name, h, m, out)
			}
		}
		// ov2 help NAME is ov2 NAME --help.
		code, out, errOut := runCmd(name, "--help")
		if hc, hout, herr := runCmd("help", name); hc != code || hout != out || herr != errOut {
			t.Errorf("ov2 help %s: exit %d, stdout %q..., stderr %q; want what ov2 %s --help gives", name, hc, firstLine(hout), herr, name)
		}
		// A bad flag: one line in --flag style and the usage line, on standard error, exit 2.
		code, out, errOut = runCmd(name, "-no-such-flag")
		want := "ov2 " + name + ": unknown flag --no-such-flag\nusage: ov2 " + name + " "
		if code != 2 || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 2 {
			t.Errorf("ov2 %s -no-such-flag: exit %d, stdout %q, stderr %q; want 2 and %q...", name, code, out, errOut, want)
		}
	}
}

// ov2 help with a command that does not exist, or more than one: an error and the list of
// commands on standard error, exit 2.
func TestHelpUnknown(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "frobnicate"}, "ov2 help: unknown command \"frobnicate\"\nusage: ov2 <command>"},
		{[]string{"help", "replay", "bench"}, "ov2 help: one command at most, got 2\nusage: ov2 <command>"},
	} {
		if code, out, errOut := runCmd(c.args...); code != 2 || out != "" || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("ov2 %v: exit %d, stdout %q, stderr %q; want 2, nothing, %q...", c.args, code, out, errOut, c.want)
		}
	}
	if code, out, _ := runCmd("help", "version"); code != 0 || !strings.HasPrefix(out, "usage: ov2 version\n") {
		t.Errorf("ov2 help version: exit %d, %q", code, out)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// ov2 version (and --version) names the program, its version, the commit, and the
// toolchain.
func TestVersion(t *testing.T) {
	want := regexp.MustCompile(`^ov2 \S+ commit \S+( \S+)? ` + regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) + "\n$")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCmd(args...)
		if code != 0 || errOut != "" || !want.MatchString(out) {
			t.Errorf("ov2 %v: exit %d, stdout %q, stderr %q; want 0 and %v", args, code, out, errOut, want)
		}
	}
	if code, _, errOut := runCmd("version", "extra"); code != 2 || errOut != "ov2 version: unexpected argument \"extra\"\n" {
		t.Errorf("ov2 version extra: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "\n  version  ") {
		t.Errorf("ov2 help does not list version:\n%s", out)
	}
}

// A valid capture with no packets is not an error: the run reports zero packets, exits
// 0, and --out gets a valid capture with no packets of the input's link type.
func TestEmptyCapture(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "empty.pcap")
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pcap")
	code, stdout, stderr := runCmd("replay", "--out", out, in)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing\n%s", code, stderr, stdout)
	}
	for _, want := range []string{
		"read:                  0 packets              0 bytes",
		"out:                   0 packets              0 bytes",
		"drops: 0\n",
		"accounting: balanced",
		"wrote " + out + " (pcap, 0 packets)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	r, err := pcap.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err == nil || r.LinkType() != pcap.LinkTypeRaw {
		t.Fatalf("output: a packet, or link type %v; want no packets and RAW", r.LinkType())
	}
	// An empty file (zero bytes) is not a capture: that stays an error.
	zero := filepath.Join(dir, "zero.pcap")
	if err := os.WriteFile(zero, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCmd("replay", zero); code != 1 || !strings.Contains(stderr, "zero.pcap: empty file") {
		t.Fatalf("zero-byte input: exit %d, stderr %q; want 1 and \"zero.pcap: empty file\"", code, stderr)
	}
}
