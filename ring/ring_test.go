package ring

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestNewRejectsBadSizes checks every kind of bad size and that the error names it.
func TestNewRejectsBadSizes(t *testing.T) {
	for _, size := range []int{-8, 0, 1, 3, 6, 1000, MaxSize + 1, MaxSize * 2} {
		r, err := New[int](size)
		if r != nil {
			t.Errorf("New(%d) returned a ring", size)
		}
		want := fmt.Sprintf("ring: size %d is not a power of two between 2 and 16777216", size)
		if err == nil || err.Error() != want {
			t.Errorf("New(%d) error = %v, want %q", size, err, want)
		}
	}
}

// TestNewAcceptsPowersOfTwo checks the boundaries of the accepted sizes.
func TestNewAcceptsPowersOfTwo(t *testing.T) {
	for _, size := range []int{2, 4, 1024, MaxSize} {
		r, err := New[byte](size)
		if err != nil {
			t.Fatalf("New(%d): %v", size, err)
		}
		if r.Cap() != size || r.Len() != 0 {
			t.Errorf("New(%d): Cap %d Len %d, want %d and 0", size, r.Cap(), r.Len(), size)
		}
	}
}

// span is the byte range [first, last] of a group of fields written by one party.
type span struct {
	name        string
	first, last uintptr
}

// TestFieldsOnSeparateCacheLines checks the padding: any two groups of fields that are
// written by different goroutines (or written and read on every operation) must be at
// least a cache line apart, so that they cannot share a line whatever the alignment.
func TestFieldsOnSeparateCacheLines(t *testing.T) {
	var r Ring[*int]
	groups := []span{
		{"read-only", unsafe.Offsetof(r.buf), unsafe.Offsetof(r.consumerWake) + unsafe.Sizeof(r.consumerWake) - 1},
		{"tail", unsafe.Offsetof(r.tail), unsafe.Offsetof(r.tail) + unsafe.Sizeof(r.tail) - 1},
		{"producer", unsafe.Offsetof(r.headCache), unsafe.Offsetof(r.producerParks) + unsafe.Sizeof(r.producerParks) - 1},
		{"head", unsafe.Offsetof(r.head), unsafe.Offsetof(r.head) + unsafe.Sizeof(r.head) - 1},
		{"consumer", unsafe.Offsetof(r.tailCache), unsafe.Offsetof(r.consumerParks) + unsafe.Sizeof(r.consumerParks) - 1},
		{"producerSleeping", unsafe.Offsetof(r.producerSleeping), unsafe.Offsetof(r.producerSleeping) + unsafe.Sizeof(r.producerSleeping) - 1},
		{"consumerSleeping", unsafe.Offsetof(r.consumerSleeping), unsafe.Offsetof(r.closed) + unsafe.Sizeof(r.closed) - 1},
	}
	if groups[0].first < cacheLine {
		t.Errorf("read-only fields start at %d, want a leading pad of at least %d", groups[0].first, cacheLine)
	}
	for i := 1; i < len(groups); i++ {
		prev, cur := groups[i-1], groups[i]
		if gap := cur.first - prev.last; gap < cacheLine {
			t.Errorf("%s starts %d bytes after the last byte of %s, want at least %d", cur.name, gap, prev.name, cacheLine)
		}
	}
	last := groups[len(groups)-1]
	if tailPad := unsafe.Sizeof(r) - 1 - last.last; tailPad < cacheLine {
		t.Errorf("only %d bytes follow %s, want at least %d", tailPad, last.name, cacheLine)
	}
}
