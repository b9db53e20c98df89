package esp

import (
	"runtime"

	"github.com/klauspost/cpuid/v2"
)

// implName is decided once: the CPU does not change under a running process.
var implName = detectImpl()

// detectImpl mirrors the test Go's crypto/internal/fips140/aes/gcm makes before it uses its
// assembly (amd64: AES-NI, PCLMULQDQ, SSE4.1 and SSSE3; arm64: AES and PMULL). crypto/cipher
// does not say which path it took, so we ask cpuid the same question. A GODEBUG that turns
// CPU features off inside the runtime is invisible to cpuid and would make this name wrong.
func detectImpl() string {
	switch runtime.GOARCH {
	case "amd64":
		if cpuid.CPU.Supports(cpuid.AESNI, cpuid.CLMUL, cpuid.SSE4, cpuid.SSSE3) {
			return "stdlib AES-GCM (AES-NI+PCLMULQDQ asm)"
		}
	case "arm64":
		if cpuid.CPU.Supports(cpuid.AESARM, cpuid.PMULL) {
			return "stdlib AES-GCM (ARMv8 AES+PMULL asm)"
		}
	}
	return "stdlib AES-GCM (generic Go)"
}

// Impl names the AES-GCM implementation that serves this transform, so the crypto stage can
// report what it chose (SPEC §6). Every transform in a process gets the same one today; the
// method sits on Transform so that a per-SA choice can come later without an API change.
func (t *Transform) Impl() string { return implName }
