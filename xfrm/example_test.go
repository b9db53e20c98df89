package xfrm_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/ov2dev/ov2/xfrm"
)

func ExampleParse() {
	const conf = `
# outbound, typed as a command
ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 \
    mode transport flag esn replay-oseq 0x40 \
    aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128 dir out

# inbound, pasted from ip xfrm state
src 198.51.100.2 dst 192.0.2.1
	proto esp spi 0x00001002 reqid 1 mode transport
	replay-window 0 flag esn
	aead rfc4106(gcm(aes)) 0xffeeddccbbaa99887766554433221100a0b0c0d0 128
	anti-replay esn context:
	 seq-hi 0x1, seq 0x5, oseq-hi 0x0, oseq 0x0
	 replay_window 128, bitmap-length 4
	 00000000 00000000 00000000 0000001f
	dir in
`
	states, err := xfrm.Parse("sa.conf", strings.NewReader(conf))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range states {
		switch s.Dir {
		case xfrm.Out:
			c := s.Outbound()
			fmt.Printf("line %d: send on SPI %#x from sequence number %#x\n", s.Line, c.SPI, c.StartSeq)
		case xfrm.In:
			c := s.Inbound()
			fmt.Printf("line %d: receive on SPI %#x from sequence number %#x, window %d\n", s.Line, c.SPI, c.StartSeq, c.ReplayWindow)
		}
	}

	_, err = xfrm.Parse("bad.conf", strings.NewReader("src 192.0.2.1 dst 198.51.100.2 spi 0x1003 enc 'cbc(aes)' 0x00\n"))
	fmt.Println(err)
	// Output:
	// line 3: send on SPI 0x1001 from sequence number 0x41
	// line 8: receive on SPI 0x1002 from sequence number 0x100000006, window 128
	// bad.conf:1: field "enc": enc "cbc(aes)" is not supported; only aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC) are
}

func ExampleFormat() {
	states, err := xfrm.ParseFile("testdata/demo.sa")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := xfrm.Format(os.Stdout, states[:1]); err != nil {
		fmt.Println(err)
	}
	if err := xfrm.WriteWiresharkKeys(os.Stdout, states[:1]); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x00001001 reqid 1 mode transport replay-oseq 0x40 flag esn aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128 dir out
	// "IPv4","192.0.2.1","198.51.100.2","0x00001001","AES-GCM with 16 octet ICV [RFC4106]","0x00112233445566778899aabbccddeeff01020304","NULL",""
}
