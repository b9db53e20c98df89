package fastpath_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/xfrm"
)

// An ESP fast path in ten lines: the SAs as `ip xfrm state` writes them, one call to make
// the path, and callbacks that get what it sealed and what it opened. Here what is sealed
// goes straight back in, as a peer's traffic would.
func Example() {
	sas, _ := xfrm.Parse("example.sa", strings.NewReader(`
src 192.0.2.1 dst 198.51.100.1 proto esp spi 0x1001 mode transport aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f01020304 128`))
	wire := make(chan []byte, 8)
	p, err := fastpath.New(fastpath.Config{SAs: sas,
		Protected: func(b fastpath.Burst) {
			for _, r := range b.Results {
				wire <- bytes.Clone(r.Frame)
			}
		},
		Unprotected: func(b fastpath.Burst) {
			for _, r := range b.Results {
				fmt.Printf("unprotected: %v, %d bytes\n", r.Verdict, len(r.Frame))
			}
		}})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	for _, dst := range []string{"198.51.100.1", "198.51.100.9"} { // the second matches no SA
		out, err := p.Protect(udpPacket("192.0.2.1", dst, 100), 0, 0)
		fmt.Printf("protect to %s: sealed %v, %v\n", dst, out.Sealed, err)
	}
	p.Flush()
	for range 2 {
		sealed := <-wire
		fmt.Printf("on the wire: %d bytes, IP protocol %d\n", len(sealed), sealed[9])
		fmt.Println("unprotect:", p.Unprotect(sealed, 0, 0))
	}
	p.Stop() // everything inside the NIC completes
	st := p.Stats()
	fmt.Printf("sealed %d, clear %d, delivered %d\n", st.Sealed.Packets, st.Clear.Packets, st.Delivered.Packets)
	// Output:
	// protect to 198.51.100.1: sealed true, <nil>
	// protect to 198.51.100.9: sealed false, <nil>
	// on the wire: 136 bytes, IP protocol 50
	// unprotect: <nil>
	// on the wire: 100 bytes, IP protocol 17
	// unprotect: fastpath: not ESP for an inbound SA
	// unprotected: delivered, 100 bytes
	// sealed 1, clear 1, delivered 1
}
