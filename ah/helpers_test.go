package ah

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// The tests build AH packets field by field and compute their ICVs with an independent
// construction: the canonical header image is written by hand from RFC 4302 §3.3.3.1 for
// the packet the test itself laid out (it knows where every mutable field is), and the ICV is
// crypto/hmac or crypto/cipher's GCM over image ‖ payload ‖ seq-high. Nothing here uses walk.

// suite is one AH SA shape.
type suite struct {
	name  string
	integ esp.Integrity
}

var suites = []suite{
	{"sha1", esp.HMACSHA1_96},
	{"sha256", esp.HMACSHA256_128},
	{"gmac128", esp.GMAC128},
	{"gmac192", esp.GMAC192},
	{"gmac256", esp.GMAC256},
}

func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func mustAH(t testing.TB, su suite, esn bool, seed byte) (*Transform, []byte) {
	t.Helper()
	key := fill(su.integ.KeyLen(), seed)
	tr, err := NewTransform(Params{Integrity: su.integ, Key: key, ESN: esn})
	if err != nil {
		t.Fatal(err)
	}
	return tr, key
}

// v4 builds an IPv4 packet: header with opts (a multiple of 4 bytes), protocol AH, TTL 64,
// TOS 0xb8, DF, a checksum; an AH header of ahLen bytes (PutHeader); the payload.
func v4(opts []byte, ahLen int, nh byte, spi, seq uint32, payload []byte) []byte {
	ihl := 20 + len(opts)
	total := ihl + ahLen + len(payload)
	p := make([]byte, total, total+64)
	p[0], p[1] = 0x40|byte(ihl/4), 0xb8
	binary.BigEndian.PutUint16(p[2:], uint16(total))
	binary.BigEndian.PutUint16(p[4:], 0x1234)
	p[6], p[8], p[9] = 0x40, 64, Protocol
	copy(p[12:], []byte{192, 0, 2, 1})
	copy(p[16:], []byte{198, 51, 100, 7})
	copy(p[20:], opts)
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	PutHeader(p[ihl:], nh, ahLen, spi, seq)
	copy(p[ihl+ahLen:], payload)
	return p
}

// v6 builds an IPv6 packet: traffic class 0xb8, flow label 0x12345, hop limit 64, the
// extension headers ext (each a whole header whose first byte the builder sets to the next
// one's type; types gives each header's own type), then AH and the payload.
func v6(types []byte, ext [][]byte, ahLen int, nh byte, spi, seq uint32, payload []byte) []byte {
	var chain []byte
	for i, e := range ext {
		e = bytes.Clone(e)
		e[0] = Protocol
		if i+1 < len(ext) {
			e[0] = types[i+1]
		}
		chain = append(chain, e...)
	}
	n := 40 + len(chain) + ahLen + len(payload)
	p := make([]byte, n, n+64)
	binary.BigEndian.PutUint32(p[0:], 6<<28|0xb8<<20|0x12345)
	binary.BigEndian.PutUint16(p[4:], uint16(n-40))
	p[6], p[7] = Protocol, 64
	if len(types) > 0 {
		p[6] = types[0]
	}
	copy(p[8:], fill(16, 0x20))
	copy(p[24:], fill(16, 0x40))
	copy(p[40:], chain)
	PutHeader(p[40+len(chain):], nh, ahLen, spi, seq)
	copy(p[40+len(chain)+ahLen:], payload)
	return p
}

// refICV computes the ICV independently from a hand-made canonical image of the headers (AH
// included, its ICV zeroed), the payload and seq-high.
func refICV(integ esp.Integrity, key, img, payload []byte, esn bool, seqHi uint32, iv []byte) []byte {
	msg := append(bytes.Clone(img), payload...)
	if esn {
		msg = binary.BigEndian.AppendUint32(msg, seqHi)
	}
	var m hash.Hash
	switch integ {
	case esp.HMACSHA1_96:
		m = hmac.New(sha1.New, key)
	case esp.HMACSHA256_128:
		m = hmac.New(sha256.New, key)
	default:
		block, err := aes.NewCipher(key[:len(key)-4])
		if err != nil {
			panic(err)
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		return g.Seal(nil, append(bytes.Clone(key[len(key)-4:]), iv...), nil, msg)
	}
	m.Write(msg)
	return m.Sum(nil)[:integ.ICVLen()]
}

// zero4 is the hand-made canonical IPv4 fixed header: TOS, flags/offset, TTL, checksum zero.
func zero4(img []byte) {
	img[1], img[6], img[7], img[8], img[10], img[11] = 0, 0, 0, 0, 0, 0
}

// zero6 is the same for IPv6: traffic class, flow label, hop limit zero.
func zero6(img []byte) {
	img[0], img[1], img[2], img[3], img[7] = 0x60, 0, 0, 0, 0
}
