package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"

	"github.com/ov2dev/ov2/esp"
)

// The raw limit of the suites without AES-GCM: Go's crypto/aes in CBC mode
// (cipher.NewCBCEncrypter / NewCBCDecrypter, one BlockMode per direction whose IV is set per
// packet through SetIV, which is how crypto/tls avoids an allocation per record) and
// crypto/hmac with crypto/sha256 or crypto/sha1 (one hmac.New, Reset per packet), on one
// goroutine, over the same bytes a packet of that size has:
//
//	AES-CBC + HMAC  seal: encrypt the payload and trailer blocks, HMAC SPI through ciphertext
//	                open: HMAC and compare in constant time, then decrypt (out of place)
//	NULL + HMAC     seal and open: HMAC SPI through trailer (open also compares)
//	AH (HMAC)       seal and open: HMAC the whole datagram (open also compares)
//
// No rings, no lookups, no framing, no canonical copy of the AH-covered headers, no padding
// check: what is left is the cost of the cryptography itself.

// etmRaw is the raw loop of one encrypt-then-MAC or AH algorithm.
type etmRaw struct {
	enc, dec   cipher.BlockMode // nil without AES-CBC
	encIV      interface{ SetIV([]byte) }
	decIV      interface{ SetIV([]byte) }
	mac        hash.Hash
	icvLen     int
	sum        []byte
	regions    []etmRegion
	blockAlign bool
}

// etmRegion is one packet's bytes.
type etmRegion struct {
	msg  []byte // what the MAC covers
	iv   []byte // AES-CBC IV (in msg)
	body []byte // AES-CBC payload and trailer, whole blocks (in msg)
	icv  []byte // the ICV of msg, for open
	out  []byte // open's decryption target
}

// newETMRawLoop lays out one cycle of the size's packets for algorithm a and checks once
// that open accepts what seal made.
func newETMRawLoop(size Size, a Algo, op RawOp) (*rawLoop, error) {
	enc, auth := suiteKeys(firstSPI, a)
	x := &etmRaw{icvLen: a.integrity().ICVLen(), sum: make([]byte, 0, sha256.Size)}
	if a.integrity() == esp.HMACSHA1_96 {
		x.mac = hmac.New(sha1.New, auth)
	} else {
		x.mac = hmac.New(sha256.New, auth)
	}
	if a.espAlg() == esp.AESCBC {
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, err
		}
		iv := make([]byte, aes.BlockSize)
		x.enc, x.dec = cipher.NewCBCEncrypter(block, iv), cipher.NewCBCDecrypter(block, iv)
		var ok1, ok2 bool
		x.encIV, ok1 = x.enc.(interface{ SetIV([]byte) })
		x.decIV, ok2 = x.dec.(interface{ SetIV([]byte) })
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bench: raw %s: crypto/cipher's CBC has no SetIV", a)
		}
	}
	l := &rawLoop{op: op, etm: x}
	for _, w := range a.wirePattern(size) {
		msgLen := w - 20 - a.icvLen() // ESP: SPI through the last ciphertext byte
		if a.isAH() {
			msgLen = w // AH: the whole datagram
		}
		r := etmRegion{msg: make([]byte, msgLen)}
		for i := range r.msg {
			r.msg[i] = byte(i * 7)
		}
		if x.enc != nil {
			r.iv = r.msg[esp.HeaderLen : esp.HeaderLen+esp.CBCIVLen]
			r.body = r.msg[esp.HeaderLen+esp.CBCIVLen:]
			r.out = make([]byte, len(r.body))
			x.encIV.SetIV(r.iv)
			x.enc.CryptBlocks(r.body, r.body)
		}
		x.mac.Reset()
		x.mac.Write(r.msg)
		r.icv = x.mac.Sum(nil)[:x.icvLen]
		x.regions = append(x.regions, r)
		l.wireBytes += w
	}
	for i := range x.regions {
		if !x.open(&x.regions[i]) {
			return nil, fmt.Errorf("bench: raw %s %s %s: open refuses what seal made", op, a, size)
		}
	}
	return l, nil
}

// step seals or opens packet i (mod the pattern).
func (x *etmRaw) step(i int, op RawOp) {
	r := &x.regions[i%len(x.regions)]
	if op == RawSeal {
		if x.enc != nil {
			x.encIV.SetIV(r.iv)
			x.enc.CryptBlocks(r.body, r.body)
		}
		x.mac.Reset()
		x.mac.Write(r.msg)
		x.sum = x.mac.Sum(x.sum[:0])
		return
	}
	if !x.open(r) {
		panic("bench: raw open failed") // checked in newETMRawLoop; the bytes do not change
	}
}

// open verifies the ICV of r, then decrypts out of place, so the packet stays as it is.
func (x *etmRaw) open(r *etmRegion) bool {
	x.mac.Reset()
	x.mac.Write(r.msg)
	x.sum = x.mac.Sum(x.sum[:0])
	if subtle.ConstantTimeCompare(x.sum[:x.icvLen], r.icv) != 1 {
		return false
	}
	if x.dec != nil {
		x.decIV.SetIV(r.iv)
		x.dec.CryptBlocks(r.out, r.body)
	}
	return true
}
