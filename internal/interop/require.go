package interop

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
)

// RequireEnv is the environment variable that turns a missing tool from a skipped test into
// a failed one: CI sets OV2_REQUIRE_INTEROP=1 so that interop checks cannot vanish unseen.
const RequireEnv = "OV2_REQUIRE_INTEROP"

// The tool names Require knows.
const (
	// ToolCryptography is Python's cryptography package under /usr/bin/python3.
	ToolCryptography = "python3-cryptography"
	// ToolScapy is scapy with its IPsec layer under /usr/bin/python3.
	ToolScapy = "scapy"
	// ToolTshark is Wireshark's command-line tshark.
	ToolTshark = "tshark"
)

// tool says how to detect one tool and which Debian package provides it.
type tool struct {
	pkg  string   // Debian package to install
	argv []string // command that exits 0 when the tool is usable
}

var tools = map[string]tool{
	ToolCryptography: {"python3-cryptography", []string{python, "-c", "import cryptography"}},
	ToolScapy:        {"python3-scapy", []string{python, "-c", "import scapy.layers.ipsec"}},
	ToolTshark:       {"tshark", []string{"tshark", "--version"}},
}

// probe reports whether a known tool is usable; each tool is probed once per test binary.
var probe = newProber(tools)

// newProber returns a function that reports whether a tool of table is usable, running its
// detection command the first time it is asked and remembering the answer. A name not in
// table is an error that lists the names it knows.
func newProber(table map[string]tool) func(name string) error {
	type once struct {
		sync.Once
		err error
	}
	var cache sync.Map // name -> *once
	return func(name string) error {
		tl, ok := table[name]
		if !ok {
			known := make([]string, 0, len(table))
			for k := range table {
				known = append(known, k)
			}
			sort.Strings(known)
			return fmt.Errorf("unknown interop tool %q (known: %s)", name, strings.Join(known, ", "))
		}
		v, _ := cache.LoadOrStore(name, new(once))
		p := v.(*once)
		p.Do(func() {
			out, err := exec.Command(tl.argv[0], tl.argv[1:]...).CombinedOutput()
			if err == nil {
				return
			}
			msg := strings.TrimSpace(string(out))
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
				msg = msg[i+1:] // the last line of a traceback says what is missing
			}
			if msg != "" {
				err = fmt.Errorf("%w: %s", err, msg)
			}
			p.err = fmt.Errorf("%s not usable (`%s` failed: %v); install it with: apt-get install -y %s",
				name, strings.Join(tl.argv, " "), err, tl.pkg)
		})
		return p.err
	}
}

// Require makes sure the named tools are installed: ToolCryptography
// ("python3-cryptography"), ToolScapy ("scapy") and ToolTshark ("tshark"). For each one that
// is missing (or a name it does not know) the test is skipped with a reason that names the
// Debian package to install, unless the environment variable OV2_REQUIRE_INTEROP is "1",
// in which case the test fails with the same reason.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	require(t, os.Getenv(RequireEnv) == "1", probe, tools...)
}

// require is Require with the policy and the detection passed in, so that tests can watch
// it skip or fail without uninstalling anything.
func require(t testing.TB, mandatory bool, lookup func(string) error, tools ...string) {
	t.Helper()
	var missing []string
	for _, name := range tools {
		if err := lookup(name); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) == 0 {
		return
	}
	reason := "interop: " + strings.Join(missing, "; ")
	if mandatory {
		t.Fatalf("%s (%s=1 makes this a failure)", reason, RequireEnv)
		return
	}
	t.Skipf("%s (set %s=1 to make this a failure)", reason, RequireEnv)
}
