package sa

import "sort"

// Table is an immutable snapshot of the offloaded SAs. The data path gets one from
// Reader.Begin, uses it for a whole burst, and lets go of it at Reader.End. Lookups take no
// lock and allocate nothing.
type Table struct {
	// slots is indexed by Handle.slot(). A slot holds the SA only while the handle's
	// generation matches; freed slots are nil.
	slots []*SA

	// The inbound indexes, one per protocol of the packets' outermost IPsec header (an SA is
	// identified by SPI, destination and protocol, RFC 4301 section 4.1): esp holds the
	// ESP-only bundles by ESP SPI, ah the bundles with AH (AH-only and ESP+AH) by AH SPI.
	esp, ah spiIndex

	count int
}

// spiIndex is one inbound index: SAs sorted by SPI, exact destinations before wildcards,
// and an open-addressing hash from SPI to the run of SAs with that SPI.
type spiIndex struct {
	inbound []*SA
	spiHash []spiBucket
	shift   uint8
}

type spiBucket struct {
	spi        uint32
	start, end uint32 // run inbound[start:end]; end == 0 marks an empty bucket
}

// Len is the number of SAs in the table.
func (t *Table) Len() int { return t.count }

// Lookup returns the SA of an offload handle, or nil if the handle is NULL, unknown or stale
// (its slot was freed and perhaps reused under a newer generation). This is the send path's
// lookup (R-TX-3: nil means the send fails with NDIS_STATUS_FAILURE).
func (t *Table) Lookup(h Handle) *SA {
	i := h.slot()
	if i >= uint32(len(t.slots)) {
		return nil
	}
	if a := t.slots[i]; a != nil && a.Handle == h {
		return a
	}
	return nil
}

// LookupInbound finds the inbound SA for an ESP packet by SPI and then destination address
// (R-RX-2): dst is the packet's raw destination, 4 bytes for IPv4 or 16 for IPv6. An SA
// with exactly that destination wins over a wildcard one. nil means no match. Only ESP-only
// bundles are found: a bundle with AH receives packets whose outer header is AH
// (LookupInboundAH).
func (t *Table) LookupInbound(spi uint32, dst []byte) *SA { return t.esp.lookup(spi, dst) }

// LookupInboundAH is LookupInbound for an AH packet: it finds the AH-only or ESP+AH bundle
// whose AH SPI is spi.
func (t *Table) LookupInboundAH(spi uint32, dst []byte) *SA { return t.ah.lookup(spi, dst) }

func (x *spiIndex) lookup(spi uint32, dst []byte) *SA {
	if len(x.spiHash) == 0 {
		return nil
	}
	mask := uint32(len(x.spiHash) - 1)
	for i := hashSPI(spi, x.shift); ; i = (i + 1) & mask {
		b := &x.spiHash[i]
		if b.end == 0 {
			return nil
		}
		if b.spi != spi {
			continue
		}
		for _, a := range x.inbound[b.start:b.end] {
			if a.matchDst(dst) {
				return a
			}
		}
		return nil
	}
}

// hashSPI spreads SPIs with Fibonacci hashing; peers often allocate SPIs sequentially.
func hashSPI(spi uint32, shift uint8) uint32 { return (spi * 0x9E3779B1) >> shift }

// buildTable makes the immutable table from the control goroutine's slot array. It copies
// the slot pointers (the SAs themselves are shared between tables: they are immutable).
func buildTable(slots []*SA, count int) *Table {
	t := &Table{slots: append([]*SA(nil), slots...), count: count}
	var espIn, ahIn []*SA
	for _, a := range slots {
		switch {
		case a == nil || !a.Inbound:
		case a.AH != nil:
			ahIn = append(ahIn, a)
		default:
			espIn = append(espIn, a)
		}
	}
	t.esp, t.ah = buildIndex(espIn), buildIndex(ahIn)
	return t
}

// buildIndex sorts inbound SAs by their outer SPI and hashes the runs.
func buildIndex(in []*SA) spiIndex {
	x := spiIndex{inbound: in}
	if len(in) == 0 {
		return x
	}
	sort.Slice(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if a.OuterSPI() != b.OuterSPI() {
			return a.OuterSPI() < b.OuterSPI()
		}
		return !a.DstWildcard && b.DstWildcard
	})
	// Load factor at most 1/2 keeps probe runs short.
	size, bits := 2, uint8(1)
	for size < 2*len(in) {
		size, bits = size*2, bits+1
	}
	x.spiHash, x.shift = make([]spiBucket, size), 32-bits
	mask := uint32(size - 1)
	for start := 0; start < len(in); {
		spi := in[start].OuterSPI()
		end := start + 1
		for end < len(in) && in[end].OuterSPI() == spi {
			end++
		}
		i := hashSPI(spi, x.shift)
		for x.spiHash[i].end != 0 {
			i = (i + 1) & mask
		}
		x.spiHash[i] = spiBucket{spi: spi, start: uint32(start), end: uint32(end)}
		start = end
	}
	return x
}
