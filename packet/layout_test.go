package packet

import (
	"testing"
	"unsafe"
)

type layoutField struct {
	name      string
	off, size uintptr
}

// The host's fields and the NIC's fields of a Buffer lie on different 64-byte cache lines,
// and a Buffer is a whole number of lines, allocated on a line boundary: see Buffer.
func TestBufferLayout(t *testing.T) {
	var b Buffer
	tx := unsafe.Offsetof(b.Tx)
	host := []layoutField{
		{"backing", unsafe.Offsetof(b.backing), unsafe.Sizeof(b.backing)},
		{"head", unsafe.Offsetof(b.head), unsafe.Sizeof(b.head)},
		{"tail", unsafe.Offsetof(b.tail), unsafe.Sizeof(b.tail)},
		{"Tx.OffloadHandle", tx + unsafe.Offsetof(b.Tx.OffloadHandle), 8},
		{"Tx.TunnelHandle", tx + unsafe.Offsetof(b.Tx.TunnelHandle), 8},
		{"Tx.MSS", tx + unsafe.Offsetof(b.Tx.MSS), 4},
		{"Tx.TcpHeaderOffset", tx + unsafe.Offsetof(b.Tx.TcpHeaderOffset), 2},
		{"Tx.LSOSegment", tx + unsafe.Offsetof(b.Tx.LSOSegment), 2},
		{"Tx.LSOCount", tx + unsafe.Offsetof(b.Tx.LSOCount), 2},
		{"Tx.AhHeaderOffset", tx + unsafe.Offsetof(b.Tx.AhHeaderOffset), 1},
		{"Tx.EspHeaderOffset", tx + unsafe.Offsetof(b.Tx.EspHeaderOffset), 1},
		{"Tx.NextHeader", tx + unsafe.Offsetof(b.Tx.NextHeader), 1},
		{"Tx.PadLength", tx + unsafe.Offsetof(b.Tx.PadLength), 1},
		{"Stamp", unsafe.Offsetof(b.Stamp), 8},
		{"Cookie", unsafe.Offsetof(b.Cookie), 8},
		{"pool", unsafe.Offsetof(b.pool), unsafe.Sizeof(b.pool)},
		{"inPool", unsafe.Offsetof(b.inPool), unsafe.Sizeof(b.inPool)},
	}
	nic := []layoutField{
		{"Tx.Status", tx + unsafe.Offsetof(b.Tx.Status), unsafe.Sizeof(b.Tx.Status)},
		{"Tx.Reason", tx + unsafe.Offsetof(b.Tx.Reason), unsafe.Sizeof(b.Tx.Reason)},
		{"Meta", unsafe.Offsetof(b.Meta), unsafe.Sizeof(b.Meta)},
		{"Rx", unsafe.Offsetof(b.Rx), unsafe.Sizeof(b.Rx)},
	}
	const line = 64
	lines := func(f layoutField) (first, last uintptr) { return f.off / line, (f.off + f.size - 1) / line }
	hostLines := map[uintptr]string{}
	for _, f := range host {
		a, z := lines(f)
		for l := a; l <= z; l++ {
			hostLines[l] = f.name
		}
	}
	for _, f := range nic {
		a, z := lines(f)
		for l := a; l <= z; l++ {
			if h, ok := hostLines[l]; ok {
				t.Errorf("NIC field %s (bytes %d..%d) shares cache line %d with host field %s",
					f.name, f.off, f.off+f.size, l, h)
			}
		}
	}
	// The verdicts the host reads (Tx.Status, Tx.Reason, Rx) share one line; Meta, which
	// no host reads, has another to itself.
	s0, s1 := lines(nic[0])
	r0, r1 := lines(nic[1])
	m0, m1 := lines(nic[2])
	x0, x1 := lines(nic[3])
	if s0 != s1 || r0 != s0 || r1 != s0 || x0 != s0 || x1 != s0 {
		t.Errorf("Tx.Status on lines %d..%d, Tx.Reason %d..%d, Rx %d..%d: want one line", s0, s1, r0, r1, x0, x1)
	}
	if m0 != m1 || m0 == s0 {
		t.Errorf("Meta on lines %d..%d, the verdicts on line %d: want a line of its own", m0, m1, s0)
	}
	if unsafe.Sizeof(b.Rx) != rxInfoSize {
		t.Errorf("RxInfo is %d bytes; rxInfoSize says %d", unsafe.Sizeof(b.Rx), rxInfoSize)
	}
	if unsafe.Sizeof(b.Meta) != metaSize {
		t.Errorf("Meta is %d bytes; metaSize says %d", unsafe.Sizeof(b.Meta), metaSize)
	}
	if v := unsafe.Sizeof(b.Tx) - unsafe.Offsetof(b.Tx.Status); v != txVerdictSize {
		t.Errorf("TxInfo has %d bytes from Status on; txVerdictSize says %d", v, txVerdictSize)
	}
	if n := unsafe.Sizeof(b); n != 4*line {
		t.Errorf("Buffer is %d bytes, want %d (4 lines, and a size class aligned to a line)", n, 4*line)
	}
	for range 64 {
		if p := uintptr(unsafe.Pointer(NewBuffer(0))); p%line != 0 {
			t.Fatalf("a Buffer at %#x, not on a %d-byte line", p, line)
		}
	}
}
