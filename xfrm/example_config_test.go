package xfrm_test

import (
	"fmt"
	"strings"

	"github.com/ov2dev/ov2/xfrm"
)

func ExampleParseConfig() {
	const conf = `
# ESP (AES-CBC-128 + HMAC-SHA-1-96) and AH (HMAC-SHA-256-128) to one host, as commands
ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 mode transport \
    enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff \
    auth 'hmac(sha1)' 0x00112233445566778899aabbccddeeff00112233
ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 1 mode transport \
    auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128

# ESP first, then AH over it: one bundle
ip xfrm policy add src 192.0.2.1/32 dst 198.51.100.2/32 dir out \
    tmpl proto esp reqid 1 mode transport tmpl proto ah reqid 1 mode transport

# a tunnel to a gateway, and its policy pasted from ip xfrm policy
ip xfrm state add src 192.0.2.1 dst 203.0.113.9 proto esp spi 0x2001 reqid 2 mode tunnel \
    enc 'ecb(cipher_null)' "" \
    auth-trunc 'hmac(sha256)' 0xffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 128
src 10.0.1.0/24 dst 10.0.2.0/24 
	dir out priority 0 ptype main 
	tmpl src 192.0.2.1 dst 203.0.113.9
		proto esp reqid 2 mode tunnel
`
	c, err := xfrm.ParseConfig("sa.conf", strings.NewReader(conf))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range c.States {
		fmt.Printf("line %d: SPI %#x %s, selector %v\n", s.Line, s.SPI, s.SuiteName(), s.Sel)
	}
	for _, b := range c.Bundles {
		fmt.Printf("bundle: SPI %#x then SPI %#x (policy on line %d)\n", c.States[b.ESP].SPI, c.States[b.AH].SPI, c.Policies[b.Policy].Line)
	}

	_, err = xfrm.ParseConfig("bad.conf", strings.NewReader(
		"ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out tmpl proto ah tmpl proto esp\n"))
	fmt.Println(err)
	// Output:
	// line 3: SPI 0x1001 ESP AES-CBC-128 + HMAC-SHA-1-96, selector {192.0.2.1/32 198.51.100.2/32}
	// line 6: SPI 0x1002 AH HMAC-SHA-256-128, selector {192.0.2.1/32 198.51.100.2/32}
	// line 14: SPI 0x2001 ESP NULL + HMAC-SHA-256-128, selector {10.0.1.0/24 10.0.2.0/24}
	// bundle: SPI 0x1001 then SPI 0x1002 (policy on line 10)
	// bad.conf:1: field "tmpl": AH (tmpl on line 1) before ESP (tmpl on line 1): the NIC applies ESP first, then AH (NDIS allows only that order); list the esp tmpl first (templates go innermost first)
}
