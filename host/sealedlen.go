package host

// SealedSize says how long the packets of one outbound SA are once framed and sealed, for
// a caller that checks them against an MTU before sending (package fastpath). Make it with
// NewSealedSize; it is a value, safe to use from any goroutine.
type SealedSize struct {
	c SAConfig
}

// NewSealedSize checks c as AddSA does and returns its SealedSize.
func NewSealedSize(c SAConfig) (SealedSize, error) {
	if err := c.normalize(); err != nil {
		return SealedSize{}, err
	}
	return SealedSize{c: c}, nil
}

// Len is the length of the packet the SA makes of an IP packet of n bytes whose IP header is
// hdr bytes: in transport mode that header, AH (with its ICV room and padding), the UDP
// header of NAT-T, the ESP header and IV, the payload, ESP padding, trailer and ICV; in
// tunnel mode the same around the whole packet, behind a new outer header.
func (s *SealedSize) Len(n, hdr int) int {
	outer, plen := hdr, n-hdr
	if s.c.Mode == Tunnel {
		outer, plen = s.outer(), n
	}
	return layoutOf(&s.c, outer, plen, s.c.Src.Is6(), 0).n
}

// Fits is the length of the longest IP packet with an IP header of hdr bytes that the SA
// seals into at most mtu bytes, 0 if none.
func (s *SealedSize) Fits(mtu, hdr int) int {
	outer, base := hdr, hdr
	if s.c.Mode == Tunnel {
		outer, base = s.outer(), 0
	}
	// The overhead of an empty payload includes its padding, at most a block (16 bytes
	// for AES-CBC): the longest payload that fits is at most a block past mtu minus it.
	over := layoutOf(&s.c, outer, 0, s.c.Src.Is6(), 0).n
	for plen := mtu - over + 16; plen >= 0; plen-- {
		if layoutOf(&s.c, outer, plen, s.c.Src.Is6(), 0).n <= mtu {
			return base + plen
		}
	}
	return 0
}

func (s *SealedSize) outer() int {
	if s.c.Src.Is6() {
		return 40
	}
	return 20
}
