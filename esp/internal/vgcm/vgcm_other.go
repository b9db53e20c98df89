//go:build !amd64

package vgcm

// Supported is false off amd64: the package is VAES/AVX-512 assembly only.
func Supported() bool { return false }

func subWord(uint32) uint32                 { panic("vgcm: unsupported") }
func encryptBlock(*byte, int, *byte, *byte) { panic("vgcm: unsupported") }
func gfMul(*[16]byte, *[16]byte, *[16]byte) { panic("vgcm: unsupported") }

func sealAsm(*Key, *byte, *byte, int, *byte, *byte, int, int) { panic("vgcm: unsupported") }

func openAsm(*Key, *byte, *byte, int, *byte, *byte, int, *byte, int) bool {
	panic("vgcm: unsupported")
}

func invMixColumns(*byte, *byte)                     { panic("vgcm: unsupported") }
func cbcDecAsm(*byte, int, *byte, *byte, *byte, int) { panic("vgcm: unsupported") }
func cbcEncAsm(*byte, int, *byte, *byte, *byte, int) { panic("vgcm: unsupported") }

// SHASupported is false off amd64.
func SHASupported() bool { return false }

func sha256Blocks(*[8]uint32, *byte, int)   { panic("vgcm: unsupported") }
func sha256BlocksVL(*[8]uint32, *byte, int) { panic("vgcm: unsupported") }

const shaVL = false
