package prefetch

import (
	"testing"
	"unsafe"
)

// TestWriteLeavesBytes prefetches slices of every length and alignment up to a few lines,
// and the empty and nil slices: nothing may change and nothing may fault.
func TestWriteLeavesBytes(t *testing.T) {
	buf := make([]byte, 512)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for off := 0; off < 70; off++ {
		for n := 0; off+n <= len(buf); n += 13 {
			Write(buf[off : off+n])
		}
	}
	for off := 0; off < 70; off++ {
		for n := 0; off+n <= len(buf); n += 13 {
			Read(buf[off : off+n])
		}
	}
	Write(nil)
	Write(buf[:0])
	Read(nil)
	Read(buf[:0])
	for i := range buf {
		if buf[i] != byte(i*7) {
			t.Fatalf("byte %d changed: %#x", i, buf[i])
		}
	}
}

// TestWriteAtPageEnd prefetches a slice that ends on the last byte before memory the
// process may not own: a prefetch never faults, and Write never touches a line past the
// one holding the slice's last byte.
func TestWriteAtPageEnd(t *testing.T) {
	page := make([]byte, 8192)
	base := uintptr(unsafe.Pointer(&page[0]))
	end := (base + 4096) &^ 4095 // the first page boundary inside page
	i := int(end - base)
	Write(page[i-100 : i])
	Write(page[i-1 : i])
	Read(page[i-100 : i])
	Read(page[i-1 : i])
}

// TestHeadLeavesBytes runs Head on four lines of a buffer, with a pointer repeated, and on
// the last byte before a page boundary: nothing may change and nothing may fault.
func TestHeadLeavesBytes(t *testing.T) {
	buf := make([]byte, 8192)
	for i := range buf {
		buf[i] = byte(i * 5)
	}
	at := func(i int) unsafe.Pointer { return unsafe.Pointer(&buf[i]) }
	Head(at(0), at(64), at(128), at(200))
	Head(at(10), at(10), at(10), at(10))
	end := int(((uintptr(at(0)) + 4096) &^ 4095) - uintptr(at(0)))
	Head(at(end-1), at(end-1), at(end-64), at(end-1))
	for i := range buf {
		if buf[i] != byte(i*5) {
			t.Fatalf("byte %d changed: %#x", i, buf[i])
		}
	}
}

func BenchmarkWrite1400(b *testing.B) {
	buf := make([]byte, 1400)
	b.SetBytes(1400)
	for b.Loop() {
		Write(buf)
	}
}
