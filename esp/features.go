package esp

import (
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Features are the CPU features that bear on how fast AES-GCM can run here (SPEC §6: the
// crypto stage dispatches on them and reports what it saw). The amd64 fields are false on
// arm64 and the arm64 fields false on amd64, so one struct serves both without build tags.
//
// Only AES-NI with PCLMULQDQ, or ARMv8 AES with PMULL, changes a decision in this package
// (see ImplAuto). The wide-vector features (AVX2, VAES, VPCLMULQDQ, AVX-512) are reported so
// that a log line shows what the machine could do beyond what it is asked to, which is the
// fact anyone adding a wider implementation needs first.
type Features struct {
	// AESNI is the x86 AES round instructions; Go's crypto/aes uses them for every block.
	AESNI bool
	// PCLMULQDQ is x86 carry-less multiplication, which Go's GCM assembly uses for GHASH.
	PCLMULQDQ bool
	// AVX is the 256-bit register file with OS support, the base of the features below.
	AVX bool
	// AVX2 is 256-bit integer SIMD.
	AVX2 bool
	// VAES is AES rounds on 256/512-bit vectors: several counter blocks per instruction.
	VAES bool
	// VPCLMULQDQ is carry-less multiplication on 256/512-bit vectors: several GHASH blocks at once.
	VPCLMULQDQ bool
	// AVX512F is the AVX-512 foundation, with OS support for the 512-bit state.
	AVX512F bool
	// AVX512VL lets AVX-512 instructions run on 128/256-bit vectors.
	AVX512VL bool
	// ARMAES is the ARMv8 Cryptography Extension's AES instructions.
	ARMAES bool
	// ARMPMULL is ARMv8 64-bit polynomial multiply (PMULL/PMULL2), used for GHASH.
	ARMPMULL bool
}

// cpuFeatures is read once at start-up: the CPU does not change under a running process, and
// per-SA decisions must not pay for CPUID.
var cpuFeatures = Features{
	AESNI:      cpuid.CPU.Has(cpuid.AESNI),
	PCLMULQDQ:  cpuid.CPU.Has(cpuid.CLMUL),
	AVX:        cpuid.CPU.Has(cpuid.AVX),
	AVX2:       cpuid.CPU.Has(cpuid.AVX2),
	VAES:       cpuid.CPU.Has(cpuid.VAES),
	VPCLMULQDQ: cpuid.CPU.Has(cpuid.VPCLMULQDQ),
	AVX512F:    cpuid.CPU.Has(cpuid.AVX512F),
	AVX512VL:   cpuid.CPU.Has(cpuid.AVX512VL),
	ARMAES:     cpuid.CPU.Has(cpuid.AESARM),
	ARMPMULL:   cpuid.CPU.Has(cpuid.PMULL),
}

// CPUFeatures returns the features of the CPU this process runs on, as cpuid reports them.
// A GODEBUG=cpu.*=off setting hides a feature from Go's own crypto code but not from cpuid,
// so under such a setting this can claim more than crypto/aes will use.
func CPUFeatures() Features { return cpuFeatures }

// String lists the present features by their usual names, separated by spaces and in the
// order of the struct, or "none": the form a start-up log line and the NIC's capability
// report print.
func (f Features) String() string {
	var names []string
	for _, x := range []struct {
		on   bool
		name string
	}{
		{f.AESNI, "AES-NI"},
		{f.PCLMULQDQ, "PCLMULQDQ"},
		{f.AVX, "AVX"},
		{f.AVX2, "AVX2"},
		{f.VAES, "VAES"},
		{f.VPCLMULQDQ, "VPCLMULQDQ"},
		{f.AVX512F, "AVX-512F"},
		{f.AVX512VL, "AVX-512VL"},
		{f.ARMAES, "ARMv8-AES"},
		{f.ARMPMULL, "PMULL"},
	} {
		if x.on {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}
