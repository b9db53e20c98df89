package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3"; empty for a build from a checkout, where the module
// version and the commit recorded by the Go toolchain are shown instead.
var version string

// versionLine is what `ov2 version` prints: the release or module version, the commit
// (with "+dirty" when the work tree had changes), its time, and the toolchain, e.g.
//
//	ov2 (devel) commit 7b410fd3c2a1+dirty 2026-12-07T00:40:12Z go1.26.8 linux/amd64
func versionLine() string {
	v, commit, when, dirty := version, "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value[:min(12, len(s.Value))]
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	parts := []string{"ov2", v, "commit", commit}
	if dirty {
		parts[3] += "+dirty"
	}
	if when != "" {
		parts = append(parts, when)
	}
	parts = append(parts, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
	return strings.Join(parts, " ")
}
