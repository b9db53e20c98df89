package sa

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
)

// AdmitFunc is the NIC's capability and configuration check for one bundle: it returns nil
// if the current configuration lets the NIC offload it, else an error wrapping
// ErrAlgorithm or ErrDisabled. It runs on the control goroutine, so it sees configuration
// changes (which the NIC also makes on that goroutine, through Run) in order.
type AdmitFunc func(b *Bundle) error

// Controller owns the SA table and runs the control goroutine (R-SA-1).
type Controller struct {
	table   atomic.Pointer[Table]     // the published table; Store in publish, Load in Begin
	epoch   atomic.Uint64             // grace-period clock, see waitReaders
	readers atomic.Pointer[[]*Reader] // copy-on-write list, written on the control goroutine

	reqs      chan func()
	closeOnce sync.Once
	done      chan struct{}

	// Owned by the control goroutine.
	capacity int
	impl     esp.Impl // the AES-GCM implementation new SAs get
	slots    []*SA
	gens     []uint32 // generation of each slot's next (or current) handle
	free     []uint32 // freed slots, reused last-in first-out
	count    int
	inbound  map[inboundKey]Handle // duplicate check for ADD_SA (control side only)
}

// inboundKey identifies an inbound SA as a receiver does (RFC 4301 section 4.1): the SPI of
// the packets' outermost IPsec header with its protocol, and the destination.
type inboundKey struct {
	ah   bool // the SPI is an AH SPI (the bundle has AH), else an ESP SPI
	spi  uint32
	ipv6 bool
	dst  [16]byte // zero for a wildcard
	wild bool
}

// NewController starts a controller that will hold at most capacity bundles
// (SaOffloadCapacity, R-SA-4).
func NewController(capacity int) *Controller {
	c := &Controller{
		reqs:     make(chan func()),
		done:     make(chan struct{}),
		capacity: capacity,
		inbound:  make(map[inboundKey]Handle),
	}
	c.epoch.Store(1) // a reader inside a section always shows a non-zero epoch
	c.table.Store(buildTable(nil, 0))
	c.readers.Store(&[]*Reader{})
	go c.loop()
	return c
}

func (c *Controller) loop() {
	for {
		select {
		case fn := <-c.reqs:
			fn()
		case <-c.done:
			return
		}
	}
}

// Tx is the control goroutine's view of the store, handed to a function given to Run. Its
// methods act at once (they are already on the control goroutine); it must not be kept
// after that function returns.
type Tx struct{ c *Controller }

// Run executes fn on the control goroutine and returns when it has finished. It is how
// every change reaches the SA table, and how the NIC serialises its configuration changes
// with SA operations (one fn sees and makes changes atomically with respect to other
// OIDs). fn must not call Run or the Controller's OID methods (they would wait for
// themselves); it uses tx instead. After Close, Run returns ErrClosed without running fn.
func (c *Controller) Run(fn func(tx *Tx)) error {
	finished := make(chan struct{})
	select {
	case c.reqs <- func() { fn(&Tx{c}); close(finished) }:
	case <-c.done:
		return ErrClosed
	}
	<-finished
	return nil
}

// Close stops the control goroutine. Requests after Close fail with ErrClosed.
func (c *Controller) Close() { c.closeOnce.Do(func() { close(c.done) }) }

// Snapshot returns the current table for inspection (reports, tests, the control side).
// The data path uses a Reader instead: only a Reader's read section keeps a deleted SA's
// key material from being zeroed under it.
func (c *Controller) Snapshot() *Table { return c.table.Load() }

// SetCapacity changes SaOffloadCapacity (a hardware capability change). SAs already
// offloaded stay even if there are more than the new capacity (the NIC never removes an SA
// on its own, R-SA-8); new ones are refused until the count drops below it.
func (c *Controller) SetCapacity(n int) error {
	return c.Run(func(tx *Tx) { tx.SetCapacity(n) })
}

// SetCapacity is Controller.SetCapacity from inside Run.
func (tx *Tx) SetCapacity(n int) { tx.c.capacity = n }

// SetImpl chooses the AES-GCM implementation of SAs added from now on (esp.ImplAuto picks
// by CPU features). SAs already added keep theirs: an SA's implementation is fixed when it
// is added.
func (c *Controller) SetImpl(i esp.Impl) error {
	return c.Run(func(*Tx) { c.impl = i })
}

// AddSA is Controller.AddSA from inside Run.
func (tx *Tx) AddSA(bundles []*Bundle, admit AdmitFunc) error { return tx.c.addSA(bundles, admit) }

// DeleteSA is Controller.DeleteSA from inside Run.
func (tx *Tx) DeleteSA(handles []Handle) error { return tx.c.deleteSA(handles) }

// UpdateSA is Controller.UpdateSA from inside Run.
func (tx *Tx) UpdateSA(u Update) error { return tx.c.updateSA(u) }

// AddSA serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA for a list of bundles (R-SA-2, R-SA-3,
// R-SA-4): each bundle is offloaded or not on its own; an offloaded bundle gets a non-zero
// OffloadHandle, a refused one handle 0 and Err. The request succeeds (nil) if any bundle
// was offloaded, else it returns an error wrapping ErrNoneOffloaded and the first reason.
// The new SAs are published in one table swap.
func (c *Controller) AddSA(bundles []*Bundle, admit AdmitFunc) error {
	var result error
	err := c.Run(func(tx *Tx) { result = tx.AddSA(bundles, admit) })
	if err != nil {
		return err
	}
	return result
}

func (c *Controller) addSA(bundles []*Bundle, admit AdmitFunc) error {
	added := 0
	var first error
	for _, b := range bundles {
		b.OffloadHandle, b.Err = 0, nil
		a, err := c.newSA(b, admit)
		if err != nil {
			b.Err = err
			if first == nil {
				first = err
			}
			continue
		}
		c.place(a)
		b.OffloadHandle = a.Handle
		added++
	}
	if added > 0 {
		c.publish()
		return nil
	}
	if first == nil {
		return fmt.Errorf("%w: the request held no bundle", ErrNoneOffloaded)
	}
	return fmt.Errorf("%w: %w", ErrNoneOffloaded, first)
}

// newSA checks one bundle and builds its SA (without a handle yet).
func (c *Controller) newSA(b *Bundle, admit AdmitFunc) (*SA, error) {
	if err := b.checkShape(); err != nil {
		return nil, err
	}
	if admit != nil {
		if err := admit(b); err != nil {
			return nil, err
		}
	}
	if c.count >= c.capacity {
		return nil, fmt.Errorf("%w: %d of %d bundles offloaded", ErrCapacity, c.count, c.capacity)
	}
	a := &SA{
		Inbound:             b.Inbound(),
		IPv6:                b.IPv6(),
		Src:                 b.Src,
		Dst:                 b.Dst,
		DstWildcard:         isWildcard(b.Dst),
		UdpEspEncapsulation: b.UdpEspEncapsulation,
		EncapSrcPort:        portOr4500(b.EncapSrcPort),
		EncapDstPort:        portOr4500(b.EncapDstPort),
	}
	if !a.DstWildcard {
		a.dst16 = b.Dst.As16()
	}
	if err := c.buildParts(a, b); err != nil {
		return nil, err
	}
	if a.Inbound {
		k := a.key()
		if h, dup := c.inbound[k]; dup {
			a.wipe()
			proto := ""
			if k.ah {
				proto = "AH "
			}
			return nil, fmt.Errorf("%w: %sSPI 0x%08x to %s is already offloaded as handle %v",
				ErrDuplicate, proto, k.spi, dstString(a), h)
		}
	}
	return a, nil
}

// buildParts keys the bundle's ESP and AH parts (params.go maps the identifiers) and fills
// in the SA's per-part fields. On error nothing keyed is left unwiped.
func (c *Controller) buildParts(a *SA, b *Bundle) error {
	e, h := b.ESP(), b.AH()
	if h != nil && b.UdpEspEncapsulation != ndis.UDPEspNone {
		// RFC 3948 encapsulates ESP alone; AH covers the IP addresses a NAT rewrites.
		return fmt.Errorf("%w: SPI 0x%08x: UDP-ESP encapsulation %d with AH: only ESP travels in UDP (RFC 3948)",
			ErrCapability, h.Spi, b.UdpEspEncapsulation)
	}
	if e != nil {
		p, err := espParams(b, e)
		if err != nil {
			return err
		}
		if p.Alg == esp.AESGCM || p.Alg == esp.AESGMAC {
			// The implementation choice is AES-GCM's; AES-CBC and NULL have one (and
			// esp.NewTransform refuses an implementation value it does not know for them).
			p.Impl = c.impl
		}
		if a.Transform, err = esp.NewTransform(p); err != nil {
			return fmt.Errorf("%w: SPI 0x%08x: %w", ErrKeyLength, e.Spi, err)
		}
		a.SPI, a.ESN, a.State = e.Spi, p.ESN, new(State)
		a.EncryptionAlgorithm, a.AuthenticationAlgorithm = e.EncryptionAlgorithm.Identifier, e.AuthenticationAlgorithm.Identifier
		if a.ESN {
			a.State.seqHi.Store(e.SequenceNumberHighOrder)
		}
	}
	if h != nil {
		p, err := ahParams(b, h)
		if err == nil {
			var tr *ah.Transform
			if tr, err = ah.NewTransform(p); err == nil {
				a.AH = &AHPart{SPI: h.Spi, ESN: p.ESN, Transform: tr,
					AuthenticationAlgorithm: h.AuthenticationAlgorithm.Identifier, State: new(State)}
			} else {
				err = fmt.Errorf("%w: SPI 0x%08x: %w", ErrKeyLength, h.Spi, err)
			}
		}
		if err != nil {
			a.wipe()
			return err
		}
		if a.AH.ESN {
			a.AH.State.seqHi.Store(h.SequenceNumberHighOrder)
		}
		if e == nil {
			a.SPI, a.ESN, a.State = h.Spi, p.ESN, a.AH.State
			a.EncryptionAlgorithm, a.AuthenticationAlgorithm = h.EncryptionAlgorithm.Identifier, h.AuthenticationAlgorithm.Identifier
		}
	}
	if a.Transform == nil && a.AH == nil { // checkShape makes this unreachable
		return fmt.Errorf("%w: the bundle has neither ESP nor AH", ErrMalformed)
	}
	return nil
}

func portOr4500(p uint16) uint16 {
	if p == 0 {
		return 4500
	}
	return p
}

func dstString(a *SA) string {
	if a.DstWildcard {
		return "any destination"
	}
	return a.Dst.String()
}

func (a *SA) key() inboundKey {
	return inboundKey{ah: a.AH != nil, spi: a.OuterSPI(), ipv6: a.IPv6, dst: a.dst16, wild: a.DstWildcard}
}

// place gives the SA a slot and a handle; it becomes visible at the next publish.
func (c *Controller) place(a *SA) {
	var slot uint32
	if n := len(c.free); n > 0 {
		slot, c.free = c.free[n-1], c.free[:n-1]
	} else {
		slot = uint32(len(c.slots))
		c.slots = append(c.slots, nil)
		c.gens = append(c.gens, 1)
	}
	a.Handle = makeHandle(slot, c.gens[slot])
	c.slots[slot] = a
	c.count++
	if a.Inbound {
		c.inbound[a.key()] = a.Handle
	}
}

// publish swaps in a table built from the current slots.
func (c *Controller) publish() {
	c.table.Store(buildTable(c.slots, c.count)) // pairs with the Load in Begin and Snapshot
}

// lookup finds a live SA by handle on the control side.
func (c *Controller) lookup(h Handle) *SA {
	i := h.slot()
	if h == 0 || i >= uint32(len(c.slots)) {
		return nil
	}
	if a := c.slots[i]; a != nil && a.Handle == h {
		return a
	}
	return nil
}

// DeleteSA serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA for a list of handles (R-SA-5).
// Valid handles are deleted even when others in the list are not; the error then wraps
// ErrStaleHandle once per bad handle. When DeleteSA returns, no reader can still use a
// deleted SA and its key material is zeroed.
func (c *Controller) DeleteSA(handles []Handle) error {
	var result error
	err := c.Run(func(tx *Tx) { result = tx.DeleteSA(handles) })
	if err != nil {
		return err
	}
	return result
}

func (c *Controller) deleteSA(handles []Handle) error {
	var errs []error
	var gone []*SA
	for _, h := range handles {
		a := c.lookup(h)
		if a == nil {
			errs = append(errs, fmt.Errorf("%w: handle %v", ErrStaleHandle, h))
			continue
		}
		a.State.deleted.Store(true)
		if a.AH != nil {
			a.AH.State.deleted.Store(true)
		}
		slot := h.slot()
		c.slots[slot] = nil
		c.gens[slot]++
		if c.gens[slot] == 0 { // generation 0 would let a handle of value 0 exist
			c.gens[slot] = 1
		}
		c.free = append(c.free, slot)
		c.count--
		if a.Inbound {
			delete(c.inbound, a.key())
		}
		gone = append(gone, a)
	}
	if len(gone) > 0 {
		c.publish()
		c.waitReaders()
		for _, a := range gone {
			a.wipe()
		}
	}
	return errors.Join(errs...)
}

// Update is the body of OID_TCP_TASK_IPSEC_OFFLOAD_V2_UPDATE_SA.
type Update struct {
	OffloadHandle           Handle
	Operation               ndis.Operation
	Spi                     uint32
	SequenceNumberHighOrder uint32
}

// UpdateSA sets the high-order 32 bits of an ESN SA's sequence number (R-SA-6). It applies
// to inbound and outbound SAs and is refused (ErrNoESN) for an SA without ESN; the
// operation and SPI must name the SA the handle refers to: in an ESP+AH bundle, either
// part, each of which has its own sequence space.
func (c *Controller) UpdateSA(u Update) error {
	var result error
	err := c.Run(func(tx *Tx) { result = tx.UpdateSA(u) })
	if err != nil {
		return err
	}
	return result
}

func (c *Controller) updateSA(u Update) error {
	a := c.lookup(u.OffloadHandle)
	if a == nil {
		return fmt.Errorf("%w: handle %v", ErrStaleHandle, u.OffloadHandle)
	}
	var st *State
	var esn bool
	switch {
	case u.Operation == ndis.OpESP && a.Transform != nil && u.Spi == a.SPI:
		st, esn = a.State, a.ESN
	case u.Operation == ndis.OpAH && a.AH != nil && u.Spi == a.AH.SPI:
		st, esn = a.AH.State, a.AH.ESN
	default:
		return fmt.Errorf("%w: handle %v is %s, request names %v SPI 0x%08x",
			ErrMalformed, u.OffloadHandle, partsString(a), u.Operation, u.Spi)
	}
	if !esn {
		return fmt.Errorf("%w: handle %v (SPI 0x%08x)", ErrNoESN, u.OffloadHandle, u.Spi)
	}
	st.seqHi.Store(u.SequenceNumberHighOrder) // pairs with SeqHi loads on the data path
	return nil
}

// partsString names the bundle's parts for an error, e.g. "ESP SPI 0x00001000 and AH SPI
// 0x00001001".
func partsString(a *SA) string {
	switch {
	case a.Transform == nil:
		return fmt.Sprintf("AH SPI 0x%08x", a.AH.SPI)
	case a.AH == nil:
		return fmt.Sprintf("ESP SPI 0x%08x", a.SPI)
	}
	return fmt.Sprintf("ESP SPI 0x%08x and AH SPI 0x%08x", a.SPI, a.AH.SPI)
}
