package sa

import (
	"encoding/binary"
	"net/netip"

	"github.com/ov2dev/ov2/ndis"
)

// gcmBundle builds an AES-GCM-128 ESP bundle whose 20 bytes of key material are derived
// from the SPI, so every SA has distinct, non-zero keys.
func gcmBundle(inbound bool, spi uint32, dst string) *Bundle {
	key := make([]byte, 20)
	for i := range key {
		key[i] = byte(i + 1)
	}
	binary.BigEndian.PutUint32(key, spi|0x80000000)
	b := &Bundle{
		NumExtHdrs: 1,
		SecAssoc: [2]SecAssoc{{
			Operation:               ndis.OpESP,
			Spi:                     spi,
			EncryptionAlgorithm:     Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20},
			AuthenticationAlgorithm: Algorithm{Identifier: ndis.AuthAESGCM128},
		}},
		KeyData: key,
		Src:     netip.MustParseAddr("192.0.2.1"),
	}
	if dst != "" {
		b.Dst = netip.MustParseAddr(dst)
		if b.Dst.Is6() {
			b.Flags |= ndis.SAIPv6
			b.Src = netip.MustParseAddr("2001:db8::1")
		}
	}
	if inbound {
		b.Flags |= ndis.SAInbound
	}
	return b
}

func addOne(c *Controller, b *Bundle) Handle {
	if err := c.AddSA([]*Bundle{b}, nil); err != nil {
		panic(err)
	}
	return b.OffloadHandle
}

func ip4(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }
func ip6(s string) []byte { a := netip.MustParseAddr(s).As16(); return a[:] }
