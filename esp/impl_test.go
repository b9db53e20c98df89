package esp

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// testImpls are the implementations every known-answer, tamper, error, allocation and
// concurrency test runs against (SPEC §6: the portable fallback must do all the stdlib path
// does, byte for byte).
var testImpls = availableImpls()

// availableImpls is stdlib and portable everywhere, and vaes where the CPU runs it.
func availableImpls() []Impl {
	impls := []Impl{ImplStdlib, ImplPortable}
	if VAESSupported() {
		impls = append(impls, ImplVAES)
	}
	return impls
}

// forEachImpl runs f as a subtest per implementation, named by Impl.String, so that a failure
// says which implementation it was and -run can pick one.
func forEachImpl(t *testing.T, f func(t *testing.T, impl Impl)) {
	t.Helper()
	for _, impl := range testImpls {
		t.Run(impl.String(), func(t *testing.T) { f(t, impl) })
	}
}

// wantAutoImpl is what ImplAuto must resolve to here, worked out from cpuid directly rather
// than from the package's own Features, so that a mistake in either shows up. cpuid does not
// read GODEBUG, so the AVX-512 state comes from x/sys/cpu as well, which does: under
// GODEBUG=cpu.avx512f=off (Go's switch for AVX-512, which a user may set to run without it)
// auto must fall back to the standard library, and the tests then check that.
func wantAutoImpl() Impl {
	switch {
	case runtime.GOARCH == "amd64" && cpuid.CPU.Supports(cpuid.AESNI, cpuid.CLMUL, cpuid.VAES, cpuid.VPCLMULQDQ,
		cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL) && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		return ImplVAES
	case runtime.GOARCH == "amd64" && cpuid.CPU.Supports(cpuid.AESNI, cpuid.CLMUL, cpuid.SSE4, cpuid.SSSE3):
		return ImplStdlib
	case runtime.GOARCH == "arm64" && cpuid.CPU.Supports(cpuid.AESARM, cpuid.PMULL):
		return ImplStdlib
	}
	return ImplPortable
}

// TestImpl checks the choice ImplAuto makes on this machine and the names each choice
// reports. SPEC §6: the crypto stage dispatches on CPU features, reports which implementation
// it chose, and has a portable fallback. On an amd64 CPU with AES-NI and PCLMULQDQ (the test
// machine) auto must be stdlib; without them, portable.
func TestImpl(t *testing.T) {
	stdlibName := "stdlib AES-GCM (generic Go)"
	switch {
	case runtime.GOARCH == "amd64" && cpuid.CPU.Supports(cpuid.AESNI, cpuid.CLMUL, cpuid.SSE4, cpuid.SSSE3):
		stdlibName = "stdlib AES-GCM (AES-NI+PCLMULQDQ asm)"
	case runtime.GOARCH == "arm64" && cpuid.CPU.Supports(cpuid.AESARM, cpuid.PMULL):
		stdlibName = "stdlib AES-GCM (ARMv8 AES+PMULL asm)"
	}
	const portableName = "portable Go GCM (4-bit table GHASH)"
	const vaesName = "ov2 AES-GCM (VAES+VPCLMULQDQ AVX-512 asm)"
	auto := wantAutoImpl()
	autoName := map[Impl]string{ImplStdlib: stdlibName, ImplPortable: portableName, ImplVAES: vaesName}[auto]

	cases := []struct {
		impl     Impl
		wantKind Impl
		wantName string
	}{
		{ImplAuto, auto, autoName},
		{ImplStdlib, ImplStdlib, stdlibName},
		{ImplPortable, ImplPortable, portableName},
	}
	if VAESSupported() {
		cases = append(cases, struct {
			impl     Impl
			wantKind Impl
			wantName string
		}{ImplVAES, ImplVAES, vaesName})
	} else if _, err := NewTransform(Params{Alg: AESGCM, KeyMat: make([]byte, 20), Impl: ImplVAES}); !errors.Is(err, ErrImpl) {
		t.Errorf("Impl vaes on a CPU without VAES/AVX-512: %v, want ErrImpl", err)
	}
	for _, tc := range cases {
		for _, alg := range []Algorithm{AESGCM, AESGMAC} {
			tr := mustTransform(t, Params{Alg: alg, KeyMat: make([]byte, 20), Impl: tc.impl})
			if tr.ImplKind() != tc.wantKind || tr.Impl() != tc.wantName {
				t.Errorf("%v, Impl %v: ImplKind, Impl() = %v, %q; want %v, %q",
					alg, tc.impl, tr.ImplKind(), tr.Impl(), tc.wantKind, tc.wantName)
			}
			if (tr.pg != nil) != (tc.wantKind == ImplPortable) || (tr.aead != nil) != (tc.wantKind == ImplStdlib) ||
				(tr.vk != nil) != (tc.wantKind == ImplVAES) {
				t.Errorf("%v, Impl %v: portable core %v, stdlib core %v, vaes core %v; want exactly the %v one",
					alg, tc.impl, tr.pg != nil, tr.aead != nil, tr.vk != nil, tc.wantKind)
			}
		}
	}
	if runtime.GOARCH == "amd64" && cpuid.CPU.Supports(cpuid.AESNI, cpuid.CLMUL) && auto != ImplStdlib && auto != ImplVAES {
		t.Errorf("amd64 with AES-NI and PCLMULQDQ: auto = %v, want stdlib or vaes", auto)
	}
	t.Logf("CPU: %s; auto: %s", CPUFeatures(), autoName)
}

// TestHasStdlibAsm checks the dispatch rule on CPUs this machine is not: it must follow the
// test Go's GCM makes before using its assembly, per architecture (SPEC §6).
func TestHasStdlibAsm(t *testing.T) {
	x86 := Features{AESNI: true, PCLMULQDQ: true}
	arm := Features{ARMAES: true, ARMPMULL: true}
	for _, tc := range []struct {
		name   string
		arch   string
		f      Features
		sse    bool
		stdlib bool
	}{
		{"amd64 AES-NI+PCLMULQDQ", "amd64", x86, true, true},
		{"amd64 everything", "amd64", Features{AESNI: true, PCLMULQDQ: true, AVX: true, AVX2: true, VAES: true, VPCLMULQDQ: true, AVX512F: true, AVX512VL: true}, true, true},
		{"amd64 no PCLMULQDQ", "amd64", Features{AESNI: true, AVX2: true}, true, false},
		{"amd64 no AES-NI", "amd64", Features{PCLMULQDQ: true}, true, false},
		{"amd64 without SSE4.1/SSSE3", "amd64", x86, false, false},
		{"amd64 with ARM features", "amd64", arm, true, false},
		{"amd64 none", "amd64", Features{}, true, false},
		{"arm64 AES+PMULL", "arm64", arm, false, true},
		{"arm64 no PMULL", "arm64", Features{ARMAES: true}, false, false},
		{"arm64 with x86 features", "arm64", x86, true, false},
		{"riscv64", "riscv64", Features{AESNI: true, PCLMULQDQ: true, ARMAES: true, ARMPMULL: true}, true, false},
		{"386", "386", x86, true, false},
	} {
		if got := hasStdlibAsm(tc.arch, tc.f, tc.sse); got != tc.stdlib {
			t.Errorf("%s: hasStdlibAsm = %v, want %v", tc.name, got, tc.stdlib)
		}
	}
	for _, i := range []Impl{ImplStdlib, ImplPortable, ImplVAES} {
		if got := resolveImpl(i); got != i {
			t.Errorf("resolveImpl(%v) = %v: an explicit choice must stand", i, got)
		}
	}
	if got := resolveImpl(ImplAuto); got != wantAutoImpl() {
		t.Errorf("resolveImpl(auto) = %v, want %v", got, wantAutoImpl())
	}
}

// TestImplString pins the names configuration uses; they must round-trip through ParseImpl.
func TestImplString(t *testing.T) {
	for i, want := range map[Impl]string{ImplAuto: "auto", ImplStdlib: "stdlib", ImplPortable: "portable", ImplVAES: "vaes", 4: "Impl(4)", 255: "Impl(255)"} {
		if got := i.String(); got != want {
			t.Errorf("Impl(%d).String() = %q, want %q", uint8(i), got, want)
		}
	}
	if ImplAuto != 0 {
		t.Errorf("ImplAuto = %d, want 0 so that a zero Params chooses automatically", ImplAuto)
	}
}

// TestParseImpl checks the accepted names and the exact error for anything else (SPEC §6:
// the implementation is configurable per SA).
func TestParseImpl(t *testing.T) {
	for _, i := range []Impl{ImplAuto, ImplStdlib, ImplPortable, ImplVAES} {
		got, err := ParseImpl(i.String())
		if got != i || err != nil {
			t.Errorf("ParseImpl(%q) = %v, %v; want %v, nil", i.String(), got, err, i)
		}
	}
	for in, msg := range map[string]string{
		"":          `esp: implementation "", want auto, stdlib, portable or vaes: esp: unknown implementation`,
		"Auto":      `esp: implementation "Auto", want auto, stdlib, portable or vaes: esp: unknown implementation`,
		"aesni":     `esp: implementation "aesni", want auto, stdlib, portable or vaes: esp: unknown implementation`,
		" stdlib":   `esp: implementation " stdlib", want auto, stdlib, portable or vaes: esp: unknown implementation`,
		"Impl(4)":   `esp: implementation "Impl(4)", want auto, stdlib, portable or vaes: esp: unknown implementation`,
		"portable ": `esp: implementation "portable ", want auto, stdlib, portable or vaes: esp: unknown implementation`,
	} {
		got, err := ParseImpl(in)
		if got != ImplAuto || !errors.Is(err, ErrImpl) || err.Error() != msg {
			t.Errorf("ParseImpl(%q) = %v, %v; want auto, %q", in, got, err, msg)
		}
	}
}

// TestCPUFeatures checks CPUFeatures and its String against cpuid feature by feature, so the
// report SPEC §6 asks for says what the hardware has.
func TestCPUFeatures(t *testing.T) {
	f := CPUFeatures()
	checks := []struct {
		name string
		got  bool
		id   cpuid.FeatureID
	}{
		{"AES-NI", f.AESNI, cpuid.AESNI},
		{"PCLMULQDQ", f.PCLMULQDQ, cpuid.CLMUL},
		{"AVX", f.AVX, cpuid.AVX},
		{"AVX2", f.AVX2, cpuid.AVX2},
		{"VAES", f.VAES, cpuid.VAES},
		{"VPCLMULQDQ", f.VPCLMULQDQ, cpuid.VPCLMULQDQ},
		{"AVX-512F", f.AVX512F, cpuid.AVX512F},
		{"AVX-512VL", f.AVX512VL, cpuid.AVX512VL},
		{"ARMv8-AES", f.ARMAES, cpuid.AESARM},
		{"PMULL", f.ARMPMULL, cpuid.PMULL},
	}
	var want []string
	for _, c := range checks {
		if c.got != cpuid.CPU.Has(c.id) {
			t.Errorf("%s: CPUFeatures says %v, cpuid says %v", c.name, c.got, cpuid.CPU.Has(c.id))
		}
		if c.got {
			want = append(want, c.name)
		}
	}
	wantStr := strings.Join(want, " ")
	if len(want) == 0 {
		wantStr = "none"
	}
	if got := f.String(); got != wantStr {
		t.Errorf("CPUFeatures().String() = %q, want %q", got, wantStr)
	}
	if CPUFeatures() != f {
		t.Error("CPUFeatures changed between calls")
	}
	t.Logf("CPUFeatures: %s (cpuid: %s)", f, cpuid.CPU.BrandName)
}

// TestFeaturesString pins the names and order String prints, for feature sets this machine
// may not have.
func TestFeaturesString(t *testing.T) {
	for _, tc := range []struct {
		f    Features
		want string
	}{
		{Features{}, "none"},
		{Features{AESNI: true, PCLMULQDQ: true, AVX2: true, VAES: true, VPCLMULQDQ: true, AVX512F: true},
			"AES-NI PCLMULQDQ AVX2 VAES VPCLMULQDQ AVX-512F"},
		{Features{AESNI: true, PCLMULQDQ: true, AVX: true, AVX2: true, VAES: true, VPCLMULQDQ: true, AVX512F: true, AVX512VL: true},
			"AES-NI PCLMULQDQ AVX AVX2 VAES VPCLMULQDQ AVX-512F AVX-512VL"},
		{Features{ARMAES: true, ARMPMULL: true}, "ARMv8-AES PMULL"},
		{Features{PCLMULQDQ: true}, "PCLMULQDQ"},
		{Features{AVX512VL: true, ARMPMULL: true}, "AVX-512VL PMULL"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.f, got, tc.want)
		}
	}
}
