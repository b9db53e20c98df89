package packet

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

// mustPanic runs f and fails unless it panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic; want one containing %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("panic %v; want one containing %q", r, want)
		}
	}()
	f()
}

func TestNewBufferLayout(t *testing.T) {
	b := NewBuffer(100)
	if got, want := len(b.backing), 128+100+256; got != want {
		t.Fatalf("backing length %d, want %d", got, want)
	}
	if b.Len() != 0 || b.Headroom() != 128 || b.Tailroom() != 356 || b.Cap() != 100 {
		t.Fatalf("Len %d Headroom %d Tailroom %d Cap %d, want 0 128 356 100",
			b.Len(), b.Headroom(), b.Tailroom(), b.Cap())
	}
	if got := cap(b.Bytes()); got != 356 {
		t.Fatalf("cap(Bytes()) %d, want 356 (to the end of the backing array)", got)
	}
}

// R-TX-4, R-RX-6: headers go in front and trailers behind without moving the frame.
func TestPrependAppendTrim(t *testing.T) {
	b := NewBuffer(64)
	if err := b.SetData([]byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	start := &b.Bytes()[0]

	h := b.Prepend(2)
	if len(h) != 2 || cap(h) != 2 {
		t.Fatalf("Prepend(2): len %d cap %d, want 2 2", len(h), cap(h))
	}
	copy(h, []byte{0xA, 0xB})
	tr := b.Append(3)
	if len(tr) != 3 || cap(tr) != 3 {
		t.Fatalf("Append(3): len %d cap %d, want 3 3", len(tr), cap(tr))
	}
	copy(tr, []byte{7, 8, 9})

	want := []byte{0xA, 0xB, 1, 2, 3, 4, 7, 8, 9}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("frame % x, want % x", b.Bytes(), want)
	}
	if &b.Bytes()[2] != start {
		t.Fatal("the original data moved; Prepend must not copy")
	}
	if b.Headroom() != 126 || b.Tailroom() != 64+256-4-3 {
		t.Fatalf("Headroom %d Tailroom %d, want 126 %d", b.Headroom(), b.Tailroom(), 64+256-4-3)
	}

	b.TrimFront(2)
	b.TrimBack(3)
	if !bytes.Equal(b.Bytes(), []byte{1, 2, 3, 4}) {
		t.Fatalf("after trims % x, want 01 02 03 04", b.Bytes())
	}
	if b.Headroom() != 128 || b.Len() != 4 {
		t.Fatalf("Headroom %d Len %d, want 128 4", b.Headroom(), b.Len())
	}
}

func TestSetLenPublishesTailroomWrites(t *testing.T) {
	b := NewBuffer(16)
	_ = b.SetData([]byte{1, 2})
	// What an AEAD Seal(dst[:0], ...) into Bytes() does: append past Len without a copy.
	out := append(b.Bytes(), 3, 4, 5)
	if &out[0] != &b.Bytes()[0] {
		t.Fatal("append into Bytes() reallocated; cap must reach the tailroom")
	}
	b.SetLen(len(out))
	if !bytes.Equal(b.Bytes(), []byte{1, 2, 3, 4, 5}) {
		t.Fatalf("frame % x, want 01 02 03 04 05", b.Bytes())
	}
	b.SetLen(0)
	if b.Len() != 0 || b.Headroom() != 128 {
		t.Fatalf("SetLen(0): Len %d Headroom %d, want 0 128", b.Len(), b.Headroom())
	}
	b.SetLen(16 + 256) // every byte up to the end of the backing array
	if b.Tailroom() != 0 {
		t.Fatalf("Tailroom %d, want 0", b.Tailroom())
	}
}

func TestBoundsPanics(t *testing.T) {
	b := NewBuffer(8)
	_ = b.SetData([]byte{1, 2, 3})
	room := b.Tailroom() // 8+256-3 = 261

	cases := []struct {
		name, want string
		f          func()
	}{
		{"Prepend over headroom", "Prepend(129) out of range: headroom is 128", func() { b.Prepend(129) }},
		{"Prepend negative", "Prepend(-1) out of range", func() { b.Prepend(-1) }},
		{"Append over tailroom", "Append(262) out of range: tailroom is 261", func() { b.Append(room + 1) }},
		{"Append negative", "Append(-1) out of range", func() { b.Append(-1) }},
		{"TrimFront over length", "TrimFront(4) out of range: length is 3", func() { b.TrimFront(4) }},
		{"TrimBack over length", "TrimBack(4) out of range: length is 3", func() { b.TrimBack(4) }},
		{"TrimBack negative", "TrimBack(-2) out of range", func() { b.TrimBack(-2) }},
		{"SetLen over room", "SetLen(265) out of range: length+tailroom is 264", func() { b.SetLen(265) }},
		{"SetLen negative", "SetLen(-1) out of range", func() { b.SetLen(-1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { mustPanic(t, c.want, c.f) })
	}
	// A failed call must leave the buffer as it was.
	if !bytes.Equal(b.Bytes(), []byte{1, 2, 3}) || b.Headroom() != 128 {
		t.Fatalf("after panics: frame % x headroom %d, want 01 02 03 and 128", b.Bytes(), b.Headroom())
	}
	// The exact limits are allowed.
	b.Prepend(128)
	b.Append(room)
	if b.Headroom() != 0 || b.Tailroom() != 0 || b.Len() != 128+3+room {
		t.Fatalf("at the limits: Headroom %d Tailroom %d Len %d", b.Headroom(), b.Tailroom(), b.Len())
	}
	b.TrimFront(b.Len())
	if b.Len() != 0 {
		t.Fatalf("TrimFront(Len()): Len %d, want 0", b.Len())
	}
}

func TestSetDataTooBig(t *testing.T) {
	b := NewBuffer(10)
	if err := b.SetData(make([]byte, 10)); err != nil {
		t.Fatalf("exactly Cap: %v", err)
	}
	b.Tx.OffloadHandle = 5
	err := b.SetData(make([]byte, 11))
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err %v, want ErrTooBig", err)
	}
	if got, want := err.Error(), "packet: data larger than the buffer's capacity: 11 bytes, capacity 10"; got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
	if b.Len() != 0 || b.Headroom() != DefaultHeadroom || b.Tx.OffloadHandle != 0 {
		t.Fatalf("after failed SetData: Len %d Headroom %d handle %d, want reset", b.Len(), b.Headroom(), b.Tx.OffloadHandle)
	}
}

func TestResetClearsOOB(t *testing.T) {
	b := NewBuffer(32)
	_ = b.SetData([]byte{1})
	b.Prepend(20)
	b.Tx = TxInfo{OffloadHandle: 1, TunnelHandle: 2, MSS: 1400, Status: ndis.StatusFailure, Reason: ReasonCrypto}
	b.Rx = RxInfo{CryptoDone: true, CryptoStatus: ndis.CryptoGenericError, Handle: 9, SeqHi: 3}
	b.Reset()
	if b.Tx != (TxInfo{}) || b.Rx != (RxInfo{}) {
		t.Fatalf("Reset left Tx %+v Rx %+v", b.Tx, b.Rx)
	}
	if b.Len() != 0 || b.Headroom() != DefaultHeadroom {
		t.Fatalf("Reset: Len %d Headroom %d, want 0 %d", b.Len(), b.Headroom(), DefaultHeadroom)
	}
}

func TestReleaseWithoutPool(t *testing.T) {
	b := NewBuffer(8)
	_ = b.SetData([]byte{1, 2})
	b.Tx.OffloadHandle = 7
	b.Release()
	b.Release() // no pool, so no ownership to violate
	if b.Len() != 0 || b.Tx != (TxInfo{}) {
		t.Fatalf("Release of a pool-less buffer: Len %d Tx %+v, want reset", b.Len(), b.Tx)
	}
}

func TestSizes(t *testing.T) {
	if DefaultHeadroom != 128 || DefaultTailroom != 256 || SmallSize != 2048 || LargeSize != 66560 {
		t.Fatalf("sizes %d %d %d %d", DefaultHeadroom, DefaultTailroom, SmallSize, LargeSize)
	}
	// The tailroom must hold the largest ESP tail: 3 pad + pad length + next header + a
	// 16-byte ICV, and an ICV-8 seal that writes a whole 16-byte tag.
	if DefaultTailroom < 3+2+16+16 {
		t.Fatal("DefaultTailroom too small for trailer and ICV")
	}
}

// CarryFront copies the CarryRoom bytes right in front of the source's frame to right in
// front of the destination's, or as many as the smaller headroom holds, and nothing else.
func TestCarryFront(t *testing.T) {
	for _, c := range []struct {
		srcHead, dstHead, want int
	}{
		{DefaultHeadroom, DefaultHeadroom, CarryRoom},
		{40, DefaultHeadroom, 40}, // a large send whose framing used most of its headroom
		{DefaultHeadroom, 10, 10}, // a segment with little headroom left
		{0, DefaultHeadroom, 0},   // nothing in front of the source
	} {
		src, dst := NewBuffer(256), NewBuffer(256)
		src.Prepend(DefaultHeadroom - c.srcHead)
		dst.Prepend(DefaultHeadroom - c.dstHead)
		front := src.backing[:src.Headroom()]
		for i := range front {
			front[i] = byte(i + 1)
		}
		dst.CarryFront(src)
		got := dst.backing[:dst.Headroom()]
		for i := range got {
			want := byte(0)
			if i >= len(got)-c.want {
				want = front[len(front)-(len(got)-i)]
			}
			if got[i] != want {
				t.Fatalf("src headroom %d, dst headroom %d: byte %d before the frame is %d, want %d",
					c.srcHead, c.dstHead, len(got)-i, got[i], want)
			}
		}
	}
}
