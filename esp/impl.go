package esp

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/klauspost/cpuid/v2"

	"github.com/ov2dev/ov2/esp/internal/vgcm"
)

// Impl selects the AES-GCM implementation behind one SA's transform (SPEC §6: the crypto
// stage dispatches on CPU features, reports its choice, and has a portable fallback). It is
// part of Params, so the control plane can pin a choice per SA; the zero value asks
// NewTransform to choose.
type Impl uint8

const (
	// ImplAuto lets NewTransform choose, once, when the SA is added: ImplStdlib where Go's
	// AES-GCM assembly will run (amd64 with AES-NI and PCLMULQDQ, arm64 with AES and PMULL),
	// ImplPortable everywhere else. A transform never reports ImplAuto.
	ImplAuto Impl = iota
	// ImplStdlib is crypto/cipher's AES-GCM. With the CPU features above it is Go's assembly
	// and by far the fastest here; without them Go falls back to its own generic code, which
	// an explicit ImplStdlib accepts and Transform.Impl names.
	ImplStdlib
	// ImplPortable is this package's plain-Go GCM: counter mode and a table-driven GHASH
	// around a crypto/aes block cipher. It needs no CPU feature, truncates tags natively and
	// verifies before it decrypts.
	ImplPortable
	// ImplVAES is our own AES-GCM for VAES + VPCLMULQDQ + AVX-512 (package
	// esp/internal/vgcm): 16 blocks in flight in four 512-bit registers with GHASH
	// interleaved, tags of 8, 12 and 16 bytes natively, and an Open that leaves a failed
	// packet as it came without copying it first. It needs those CPU features and the OS's
	// support for the 512-bit state; NewTransform refuses it elsewhere.
	ImplVAES
)

// Valid reports whether i is one of the implementations above.
func (i Impl) Valid() bool { return i <= ImplVAES }

// String gives the name ParseImpl accepts, so that a configured value round-trips.
func (i Impl) String() string {
	switch i {
	case ImplAuto:
		return "auto"
	case ImplStdlib:
		return "stdlib"
	case ImplPortable:
		return "portable"
	case ImplVAES:
		return "vaes"
	}
	return "Impl(" + strconv.Itoa(int(i)) + ")"
}

// ParseImpl reads the names String writes ("auto", "stdlib", "portable", "vaes"), for
// configuration files and command-line flags. Anything else is an error wrapping ErrImpl.
func ParseImpl(s string) (Impl, error) {
	for _, i := range []Impl{ImplAuto, ImplStdlib, ImplPortable, ImplVAES} {
		if s == i.String() {
			return i, nil
		}
	}
	return 0, fmt.Errorf("esp: implementation %q, want auto, stdlib, portable or vaes: %w", s, ErrImpl)
}

// VAESSupported reports whether ImplVAES can run here: AES-NI, PCLMULQDQ, VAES,
// VPCLMULQDQ, AVX-512 F/BW/VL, with the OS saving the 512-bit and mask registers.
func VAESSupported() bool { return vgcm.Supported() }

// SHASupported reports whether HMAC-SHA-256 runs on ov2's own code here (the SHA
// extensions; vgcm.HMAC256) for SAs that do not pin ImplStdlib or ImplPortable.
func SHASupported() bool { return vgcm.SHASupported() }

// stdlibAsm says whether crypto/cipher's GCM will run on assembly. It asks cpuid the same
// question Go's crypto/internal/fips140/aes/gcm asks before it uses its assembly: on amd64
// AES-NI, PCLMULQDQ, SSE4.1 and SSSE3 (every CPU with the first two has the last two, but Go
// checks them, so we do); on arm64 AES and PMULL. Go has GCM assembly for ppc64 and s390x
// too, but cpuid cannot see their features, so those count as "no assembly" here.
var stdlibAsm = hasStdlibAsm(runtime.GOARCH, cpuFeatures, cpuid.CPU.Has(cpuid.SSE4) && cpuid.CPU.Has(cpuid.SSSE3))

func hasStdlibAsm(arch string, f Features, sse41AndSSSE3 bool) bool {
	switch arch {
	case "amd64":
		return f.AESNI && f.PCLMULQDQ && sse41AndSSSE3
	case "arm64":
		return f.ARMAES && f.ARMPMULL
	}
	return false
}

// resolveImpl turns ImplAuto into a concrete choice. The rule prefers our VAES code where
// the CPU has it (2 to 5 times the standard library's speed, BenchmarkSeal; constant-time
// like it: carry-less multiplies, no key-dependent table), then the standard library
// whenever its assembly runs, for three reasons: it is about ten times faster than the
// portable core (BenchmarkSeal), its GHASH is constant-time, and it is the more widely
// reviewed code. Without the assembly, Go's generic GCM and the portable core are both
// table-driven Go, and the portable core measured faster on every shape, most of all ICV-8
// Open, which needs no re-seal (figures in the package doc).
func resolveImpl(i Impl) Impl {
	if i != ImplAuto {
		return i
	}
	if vgcm.Supported() {
		return ImplVAES
	}
	if stdlibAsm {
		return ImplStdlib
	}
	return ImplPortable
}

// Impl describes the AES-GCM implementation serving this transform, the report SPEC §6 asks
// the crypto stage to make. ImplKind gives the same choice as a value.
func (t *Transform) Impl() string {
	switch {
	case t.alg == AESCBC || t.alg == NULL:
		impl := t.hm.impl()
		switch {
		case t.cbcKey != nil:
			impl = "ov2 AES-NI CBC, crypto/aes IVs, " + impl
		case t.alg == AESCBC:
			impl = "crypto/aes, " + impl
		}
		return t.Suite() + " (" + impl + ")"
	case t.impl == ImplPortable:
		return "portable Go GCM (4-bit table GHASH)"
	case t.impl == ImplVAES:
		return "ov2 AES-GCM (VAES+VPCLMULQDQ AVX-512 asm)"
	}
	switch {
	case !stdlibAsm:
		return "stdlib AES-GCM (generic Go)"
	case runtime.GOARCH == "arm64":
		return "stdlib AES-GCM (ARMv8 AES+PMULL asm)"
	}
	return "stdlib AES-GCM (AES-NI+PCLMULQDQ asm)"
}

// ImplKind reports which implementation NewTransform chose for this SA, never ImplAuto:
// for AES-GCM and GMAC ImplStdlib, ImplPortable or ImplVAES; for AES-CBC and NULL ImplVAES
// where some part is ov2's own code (AES-CBC, HMAC-SHA-256), else ImplStdlib.
func (t *Transform) ImplKind() Impl { return t.impl }
