//go:build amd64

package vgcm

import (
	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// supported is read once: the CPU does not change under a running process.
// x/sys/cpu reports the AVX-512 features only when XCR0 has the SSE, AVX, opmask and
// ZMM state bits (1, 2, 5, 6, 7) set, i.e. when the OS saves that state. AVX512BW is
// for the byte masks of the tails (VMOVDQU8) and byte shuffles on Z registers; VL for
// the same instructions on X and Y registers.
var supported = cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasAVX512F &&
	cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VAES &&
	cpu.X86.HasAVX512VPCLMULQDQ

// Supported reports whether this CPU and OS can run the package's code: AES-NI,
// PCLMULQDQ, VAES, VPCLMULQDQ, AVX-512 F, BW and VL, and OS support for the AVX-512
// register state. Where it is false, NewKey fails.
func Supported() bool { return supported }

//go:noescape
func subWord(w uint32) uint32

//go:noescape
func encryptBlock(rk *byte, nr int, dst, src *byte)

//go:noescape
func gfMul(dst, a, b *[16]byte)

//go:noescape
func sealAsm(k *Key, dst, src *byte, n int, nonce, aad *byte, aadLen, tagLen int)

//go:noescape
func openAsm(k *Key, dst, src *byte, n int, nonce, aad *byte, aadLen int, tag *byte, tagLen int) bool

//go:noescape
func invMixColumns(dst, src *byte)

//go:noescape
func cbcDecAsm(dk *byte, nr int, iv, dst, src *byte, n int)

//go:noescape
func cbcEncAsm(ek *byte, nr int, iv, dst, src *byte, n int)

//go:noescape
func sha256Blocks(h *[8]uint32, p *byte, n int)

//go:noescape
func sha256BlocksVL(h *[8]uint32, p *byte, n int)

// shaSupported: the SHA extensions, and SSSE3 and SSE4.1 for the byte shuffle and the
// word blend around them. x/sys/cpu does not report SHA on x86; cpuid does.
var shaSupported = cpuid.CPU.Supports(cpuid.SHA, cpuid.SSSE3, cpuid.SSE4)

// shaVL: AVX-512 F and VL with the OS saving their state (x/sys/cpu checks XCR0), for the
// message schedule on the vector units (sha256BlocksVL).
var shaVL = shaSupported && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// SHASupported reports whether this CPU runs the package's SHA-256 (HMAC256).
func SHASupported() bool { return shaSupported }
