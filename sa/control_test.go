package sa

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

// R-SA-2, R-SA-3, R-SA-4: one ADD_SA list where some bundles fail, each with its own reason
// and handle 0, while the others get distinct non-zero handles.
func TestAddSAPartialSuccess(t *testing.T) {
	c := NewController(4)
	defer c.Close()
	addOne(c, gcmBundle(true, 0x100, "198.51.100.1")) // occupies (0x100, .1) and one slot

	disabled := errors.New("IPv6 not enabled") // what the NIC's admission would say
	admit := func(b *Bundle) error {
		if b.IPv6() {
			return fmt.Errorf("%w: %w", ErrDisabled, disabled)
		}
		if b.SecAssoc[0].EncryptionAlgorithm.Identifier == ndis.Enc3DESCBC {
			return fmt.Errorf("%w: 3DES_CBC", ErrAlgorithm)
		}
		return nil
	}
	badKey := gcmBundle(false, 0x201, "198.51.100.2")
	badKey.SecAssoc[0].EncryptionAlgorithm.KeyLength = 16 // forgot the salt
	tripleDES := gcmBundle(false, 0x202, "198.51.100.2")
	tripleDES.SecAssoc[0].EncryptionAlgorithm.Identifier = ndis.Enc3DESCBC
	list := []*Bundle{
		gcmBundle(false, 0x200, "198.51.100.2"), // ok
		badKey,                                  // wrong key length
		tripleDES,                               // unadvertised algorithm
		gcmBundle(true, 0x100, "198.51.100.1"),  // duplicate inbound SPI + destination
		gcmBundle(true, 0x100, "198.51.100.9"),  // same SPI, other destination: ok
		gcmBundle(false, 0x300, "2001:db8::2"),  // offload disabled for IPv6
		gcmBundle(true, 0x101, "198.51.100.1"),  // ok: fills capacity (4)
		gcmBundle(true, 0x102, "198.51.100.1"),  // capacity reached
	}
	if err := c.AddSA(list, admit); err != nil {
		t.Fatalf("AddSA with some good bundles: got %v, want success", err)
	}
	want := []error{nil, ErrKeyLength, ErrAlgorithm, ErrDuplicate, nil, ErrDisabled, nil, ErrCapacity}
	wantMsg := []string{
		"",
		"sa: key length wrong: SPI 0x00000201: KeyLength 16, want 20 (16-byte AES key and 4-byte salt)",
		"sa: algorithm not advertised: 3DES_CBC",
		"sa: duplicate inbound SPI and destination: SPI 0x00000100 to 198.51.100.1 is already offloaded as handle 0.1",
		"",
		"sa: offload disabled by the current configuration: IPv6 not enabled",
		"",
		"sa: SaOffloadCapacity reached: 4 of 4 bundles offloaded",
	}
	seen := map[Handle]bool{}
	for i, b := range list {
		if want[i] == nil {
			if b.Err != nil || b.OffloadHandle == 0 || seen[b.OffloadHandle] {
				t.Errorf("bundle %d: handle %v err %v, want a new non-zero handle", i, b.OffloadHandle, b.Err)
			}
			seen[b.OffloadHandle] = true
			continue
		}
		if b.OffloadHandle != 0 || !errors.Is(b.Err, want[i]) || b.Err.Error() != wantMsg[i] {
			t.Errorf("bundle %d: handle %v err %q, want handle NULL and %q", i, b.OffloadHandle, b.Err, wantMsg[i])
		}
	}
	if got := c.Snapshot().Len(); got != 4 {
		t.Errorf("table holds %d SAs, want 4 (capacity)", got)
	}
	if got := StatusOf(list[7].Err); got != ndis.StatusResources {
		t.Errorf("capacity failure maps to %v, want NDIS_STATUS_RESOURCES", got)
	}
	if got := StatusOf(list[2].Err); got != ndis.StatusNotSupported {
		t.Errorf("algorithm failure maps to %v, want NDIS_STATUS_NOT_SUPPORTED", got)
	}
}

// R-SA-3: a request where every bundle fails is a failed request.
func TestAddSAAllFail(t *testing.T) {
	c := NewController(0)
	defer c.Close()
	b := gcmBundle(false, 1, "198.51.100.1")
	err := c.AddSA([]*Bundle{b}, nil)
	if !errors.Is(err, ErrNoneOffloaded) || !errors.Is(err, ErrCapacity) {
		t.Fatalf("got %v, want ErrNoneOffloaded wrapping ErrCapacity", err)
	}
	if err.Error() != "sa: no bundle was offloaded: sa: SaOffloadCapacity reached: 0 of 0 bundles offloaded" {
		t.Errorf("message %q", err)
	}
	if err := c.AddSA(nil, nil); !errors.Is(err, ErrNoneOffloaded) {
		t.Errorf("empty list: got %v", err)
	}
}

// R-SA-2: the bundle's own shape.
func TestAddSAMalformed(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	cases := []struct {
		name string
		mod  func(*Bundle)
		want string
	}{
		{"no entries", func(b *Bundle) { b.NumExtHdrs = 0 }, "sa: malformed request: NumExtHdrs is 0, want 1 or 2"},
		{"three entries", func(b *Bundle) { b.NumExtHdrs = 3 }, "sa: malformed request: NumExtHdrs is 3, want 1 or 2"},
		{"AH then ESP", func(b *Bundle) {
			b.NumExtHdrs = 2
			b.SecAssoc[0].Operation, b.SecAssoc[1].Operation = ndis.OpAH, ndis.OpESP
		}, "sa: malformed request: two SecAssoc entries must be ESP then AH, got AH then ESP"},
		{"bad op", func(b *Bundle) { b.SecAssoc[0].Operation = 7 }, "sa: malformed request: SecAssoc[0].Operation 7 is neither AH (1) nor ESP (2)"},
		{"unknown flag", func(b *Bundle) { b.Flags |= 0x4 }, "sa: malformed request: unknown bundle Flags bits 0x4"},
		{"family", func(b *Bundle) { b.Flags |= ndis.SAIPv6 }, "sa: malformed request: address 192.0.2.1 does not match the bundle's IPv6 flag (true)"},
		{"encap", func(b *Bundle) { b.UdpEspEncapsulation = 3 }, "sa: malformed request: UdpEspEncapsulation 3 is not one of 0, 1, 2, 4, 8"},
		{"spi 0", func(b *Bundle) { b.SecAssoc[0].Spi = 0 }, "sa: malformed request: SPI 0 is reserved"},
		{"key past end", func(b *Bundle) { b.SecAssoc[0].EncryptionAlgorithm.KeyOffsetBytes = 4 },
			"sa: key length wrong: SPI 0x00000005: key at offset 4 length 20 runs past the 20 bytes of key material"},
		{"gcm auth mismatch", func(b *Bundle) { b.SecAssoc[0].AuthenticationAlgorithm.Identifier = ndis.AuthAESGCM256 },
			"sa: malformed request: SPI 0x00000005: AES-GCM encryption 0x8 paired with authentication 0x20 (want 0 or the same AES-GCM size)"},
		{"md5", func(b *Bundle) {
			b.SecAssoc[0].EncryptionAlgorithm = Algorithm{Identifier: ndis.EncNone}
			b.SecAssoc[0].AuthenticationAlgorithm = Algorithm{Identifier: ndis.AuthMD5, KeyLength: 16}
		}, "sa: algorithm not advertised: SPI 0x00000005: encryption 0x1 with authentication 0x1"},
		{"icv 10", func(b *Bundle) { b.SecAssoc[0].EncryptionAlgorithm.AdditionalInfo = 10 }, ""},
	}
	for _, tc := range cases {
		b := gcmBundle(true, 5, "198.51.100.1")
		tc.mod(b)
		err := c.AddSA([]*Bundle{b}, nil)
		if err == nil || b.OffloadHandle != 0 {
			t.Errorf("%s: offloaded as %v", tc.name, b.OffloadHandle)
			continue
		}
		if tc.want != "" && b.Err.Error() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, b.Err, tc.want)
		}
	}
	if n := c.Snapshot().Len(); n != 0 {
		t.Errorf("%d SAs offloaded from malformed requests", n)
	}
}

// R-SA-3: a GMAC bundle (encryption NONE, key on the authentication algorithm) and the
// 192/256-bit GCM sizes are accepted with the right key lengths.
func TestAddSAAlgorithms(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	gmac := gcmBundle(false, 7, "198.51.100.1")
	gmac.SecAssoc[0].EncryptionAlgorithm = Algorithm{Identifier: ndis.EncNone}
	gmac.SecAssoc[0].AuthenticationAlgorithm = Algorithm{Identifier: ndis.AuthAESGCM128, KeyLength: 20}
	g256 := gcmBundle(false, 8, "198.51.100.1")
	g256.KeyData = make([]byte, 40)
	g256.KeyData[0] = 1
	g256.SecAssoc[0].EncryptionAlgorithm = Algorithm{Identifier: ndis.EncAESGCM256, KeyLength: 36, KeyOffsetBytes: 4}
	g256.SecAssoc[0].AuthenticationAlgorithm = Algorithm{}
	if err := c.AddSA([]*Bundle{gmac, g256}, nil); err != nil || gmac.Err != nil || g256.Err != nil {
		t.Fatalf("AddSA: %v / %v / %v", err, gmac.Err, g256.Err)
	}
	tb := c.Snapshot()
	if a := tb.Lookup(gmac.OffloadHandle); a == nil || a.Transform.Alg().String() != "AES-GMAC" {
		t.Errorf("GMAC SA: %+v", a)
	}
	if a := tb.Lookup(g256.OffloadHandle); a == nil || a.Transform.Alg().String() != "AES-GCM" {
		t.Errorf("GCM-256 SA: %+v", a)
	}
}

// R-SA-5: DELETE_SA with a stale handle fails cleanly; valid handles in the same list are
// still deleted; a slot reused after a delete gets a new generation, so the old handle
// never finds the new SA.
func TestDeleteSAStaleHandle(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	h1 := addOne(c, gcmBundle(false, 1, "198.51.100.1"))
	h2 := addOne(c, gcmBundle(true, 2, "198.51.100.1"))
	a2 := c.Snapshot().Lookup(h2)
	if err := c.DeleteSA([]Handle{h2}); err != nil {
		t.Fatal(err)
	}
	h3 := addOne(c, gcmBundle(true, 3, "198.51.100.1")) // reuses h2's slot
	if h3.slot() != h2.slot() || h3 == h2 || h3.gen() != h2.gen()+1 {
		t.Fatalf("h2 %v h3 %v: want the same slot under the next generation", h2, h3)
	}
	tb := c.Snapshot()
	if tb.Lookup(h2) != nil {
		t.Error("stale handle h2 finds an SA")
	}
	if !a2.State.Deleted() || !a2.Transform.KeyZeroed() {
		t.Error("deleted SA not marked deleted or key not zeroed")
	}
	err := c.DeleteSA([]Handle{h2, h1, 0, Handle(99)})
	if !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("got %v, want ErrStaleHandle", err)
	}
	if err.Error() != "sa: unknown or stale offload handle: handle 1.1\nsa: unknown or stale offload handle: handle NULL\nsa: unknown or stale offload handle: handle 99.0" {
		t.Errorf("message %q", err)
	}
	if got := StatusOf(err); got != ndis.StatusInvalidParameter {
		t.Errorf("status %v", got)
	}
	tb = c.Snapshot()
	if tb.Lookup(h1) != nil || tb.Lookup(h3) == nil || tb.Len() != 1 {
		t.Errorf("after delete: h1 %v h3 %v len %d; want h1 gone, h3 kept, 1 SA", tb.Lookup(h1), tb.Lookup(h3), tb.Len())
	}
	// Deleting again is stale too.
	if err := c.DeleteSA([]Handle{h1}); !errors.Is(err, ErrStaleHandle) {
		t.Errorf("second delete: %v", err)
	}
}

// R-SA-6: UPDATE_SA sets the ESN high half of inbound and outbound ESN SAs and is refused
// for SAs without ESN, unknown handles, and requests naming another SPI or operation.
func TestUpdateSA(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	in := gcmBundle(true, 0x11, "198.51.100.1")
	in.SecAssoc[0].Flags = ndis.SAFlagESN
	in.SecAssoc[0].SequenceNumberHighOrder = 7
	out := gcmBundle(false, 0x12, "198.51.100.1")
	out.SecAssoc[0].Flags = ndis.SAFlagESN
	plain := gcmBundle(false, 0x13, "198.51.100.1")
	if err := c.AddSA([]*Bundle{in, out, plain}, nil); err != nil {
		t.Fatal(err)
	}
	tb := c.Snapshot()
	if got := tb.Lookup(in.OffloadHandle).State.SeqHi(); got != 7 {
		t.Errorf("initial SeqHi %d, want 7 from ADD_SA", got)
	}
	for _, b := range []*Bundle{in, out} {
		u := Update{OffloadHandle: b.OffloadHandle, Operation: ndis.OpESP, Spi: b.SecAssoc[0].Spi, SequenceNumberHighOrder: 0xABCD}
		if err := c.UpdateSA(u); err != nil {
			t.Fatalf("UpdateSA %v: %v", b.OffloadHandle, err)
		}
		if got := tb.Lookup(b.OffloadHandle).State.SeqHi(); got != 0xABCD {
			t.Errorf("SeqHi %x after update, want abcd", got)
		}
	}
	cases := []struct {
		u    Update
		want error
		msg  string
	}{
		{Update{plain.OffloadHandle, ndis.OpESP, 0x13, 1}, ErrNoESN, "sa: SA does not use extended sequence numbers: handle 2.1 (SPI 0x00000013)"},
		{Update{in.OffloadHandle, ndis.OpESP, 0x99, 1}, ErrMalformed, "sa: malformed request: handle 0.1 is ESP SPI 0x00000011, request names ESP SPI 0x00000099"},
		{Update{in.OffloadHandle, ndis.OpAH, 0x11, 1}, ErrMalformed, "sa: malformed request: handle 0.1 is ESP SPI 0x00000011, request names AH SPI 0x00000011"},
		{Update{Handle(1<<32 | 9), ndis.OpESP, 0x11, 1}, ErrStaleHandle, "sa: unknown or stale offload handle: handle 9.1"},
	}
	for _, tc := range cases {
		err := c.UpdateSA(tc.u)
		if !errors.Is(err, tc.want) || err.Error() != tc.msg {
			t.Errorf("UpdateSA(%+v):\n got %v\nwant %s", tc.u, err, tc.msg)
		}
	}
	if got := tb.Lookup(in.OffloadHandle).State.SeqHi(); got != 0xABCD {
		t.Errorf("refused update changed SeqHi to %x", got)
	}
}

// R-RX-2 (the table's half): lookup by SPI then destination, exact before wildcard, the
// address family respected, outbound SAs never returned.
func TestLookupInbound(t *testing.T) {
	c := NewController(100)
	defer c.Close()
	exact := addOne(c, gcmBundle(true, 0x500, "198.51.100.1"))
	wild := addOne(c, gcmBundle(true, 0x500, ""))
	v6 := addOne(c, gcmBundle(true, 0x500, "2001:db8::5"))
	addOne(c, gcmBundle(false, 0x600, "198.51.100.1"))
	crowd := map[uint32]Handle{}
	for spi := uint32(1); spi < 50; spi++ { // crowd the hash
		crowd[spi<<20] = addOne(c, gcmBundle(true, spi<<20, "203.0.113.7"))
	}
	tb := c.Snapshot()
	cases := []struct {
		spi  uint32
		dst  []byte
		want Handle
	}{
		{0x500, ip4("198.51.100.1"), exact},
		{0x500, ip4("198.51.100.2"), wild},
		{0x500, ip6("2001:db8::5"), v6},
		{0x500, ip6("2001:db8::6"), 0},  // the wildcard SA is IPv4
		{0x600, ip4("198.51.100.1"), 0}, // outbound
		{0x501, ip4("198.51.100.1"), 0},
		{7 << 20, ip4("203.0.113.7"), crowd[7<<20]},
		{49 << 20, ip4("203.0.113.7"), crowd[49<<20]},
		{7 << 20, ip4("203.0.113.8"), 0},
	}
	for i, tc := range cases {
		a := tb.LookupInbound(tc.spi, tc.dst)
		var got Handle
		if a != nil {
			got = a.Handle
		}
		if got != tc.want {
			t.Errorf("case %d: SPI 0x%x: got %v, want %v", i, tc.spi, got, tc.want)
		}
	}
	for spi, h := range crowd {
		if a := tb.LookupInbound(spi, ip4("203.0.113.7")); a == nil || a.Handle != h {
			t.Errorf("crowded SPI 0x%x: got %+v, want handle %v", spi, a, h)
		}
	}
}

// R-SA-7: a published table never changes; changes arrive as a new table.
func TestCopyOnWrite(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	before := c.Snapshot()
	h := addOne(c, gcmBundle(false, 1, "198.51.100.1"))
	if before.Len() != 0 || before.Lookup(h) != nil {
		t.Error("the old table changed")
	}
	mid := c.Snapshot()
	if err := c.DeleteSA([]Handle{h}); err != nil {
		t.Fatal(err)
	}
	if mid.Lookup(h) == nil || mid.Len() != 1 {
		t.Error("the table published before DELETE_SA changed")
	}
	if c.Snapshot().Lookup(h) != nil {
		t.Error("the new table still has the SA")
	}
}

// R-SA-5, R-SA-7: DELETE_SA does not return, and does not zero the key, while a reader that
// may hold the SA is inside its read section.
func TestDeleteWaitsForReaders(t *testing.T) {
	c := NewController(10)
	defer c.Close()
	h := addOne(c, gcmBundle(false, 1, "198.51.100.1"))
	r := c.NewReader()
	tb := r.Begin()
	a := tb.Lookup(h)
	done := make(chan error)
	go func() { done <- c.DeleteSA([]Handle{h}) }()
	// The control goroutine publishes and then waits for r. Poll until the new table is
	// out, then check the key is still intact while r is inside its section.
	for c.Snapshot().Lookup(h) != nil {
	}
	select {
	case err := <-done:
		t.Fatalf("DeleteSA returned (%v) while a reader held the SA", err)
	default:
	}
	if a.Transform.KeyZeroed() {
		t.Fatal("key zeroed while a reader held the SA")
	}
	r.End()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !a.Transform.KeyZeroed() {
		t.Error("key not zeroed after DeleteSA returned")
	}
	// A reader entering now sees the new table.
	if r.Begin().Lookup(h) != nil {
		t.Error("reader sees deleted SA")
	}
	r.End()
	r.Close()
}

// R-SA-8 (the store's half): a lower capacity never evicts SAs; it only refuses new ones.
func TestSetCapacityKeepsSAs(t *testing.T) {
	c := NewController(3)
	defer c.Close()
	for i := uint32(1); i <= 3; i++ {
		addOne(c, gcmBundle(false, i, "198.51.100.1"))
	}
	if err := c.SetCapacity(1); err != nil {
		t.Fatal(err)
	}
	if n := c.Snapshot().Len(); n != 3 {
		t.Errorf("%d SAs after lowering capacity, want 3", n)
	}
	b := gcmBundle(false, 9, "198.51.100.1")
	if err := c.AddSA([]*Bundle{b}, nil); !errors.Is(err, ErrCapacity) {
		t.Errorf("add over the new capacity: %v", err)
	}
}

// R-SA-1: after Close, OIDs fail with ErrClosed instead of hanging.
func TestClosed(t *testing.T) {
	c := NewController(3)
	c.Close()
	if err := c.AddSA([]*Bundle{gcmBundle(false, 1, "198.51.100.1")}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("AddSA after Close: %v", err)
	}
	if err := c.DeleteSA([]Handle{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("DeleteSA after Close: %v", err)
	}
}
