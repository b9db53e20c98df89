package esp

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
)

// This file is the independent construction the AES-CBC / NULL tests compare against: ESP
// encrypt-then-MAC written plainly from RFC 4303 §§2-3, RFC 3602, RFC 2404 and RFC 4868 with
// crypto/cipher's CBC BlockMode and crypto/hmac, sharing no code with etm.go, cbc.go or
// hmac.go.

// etmSuite is one AES-CBC or NULL SA shape.
type etmSuite struct {
	name   string
	alg    Algorithm
	keyLen int // AES key bytes; 0 for NULL
	integ  Integrity
}

// etmSuites are every encrypt-then-MAC combination SPEC §2 requires.
var etmSuites = []etmSuite{
	{"aes128cbc-sha1", AESCBC, 16, HMACSHA1_96},
	{"aes128cbc-sha256", AESCBC, 16, HMACSHA256_128},
	{"aes192cbc-sha1", AESCBC, 24, HMACSHA1_96},
	{"aes192cbc-sha256", AESCBC, 24, HMACSHA256_128},
	{"aes256cbc-sha1", AESCBC, 32, HMACSHA1_96},
	{"aes256cbc-sha256", AESCBC, 32, HMACSHA256_128},
	{"null-sha1", NULL, 0, HMACSHA1_96},
	{"null-sha256", NULL, 0, HMACSHA256_128},
}

// refSA holds the keys of one SA as the independent construction sees them.
type refSA struct {
	alg    Algorithm
	encKey []byte
	integ  Integrity
	macKey []byte
	esn    bool
}

// params is the same SA for NewTransform.
func (r refSA) params() Params {
	return Params{Alg: r.alg, KeyMat: r.encKey, Integrity: r.integ, IntegrityKey: r.macKey, ESN: r.esn}
}

func (r refSA) ivLen() int {
	if r.alg == AESCBC {
		return 16
	}
	return 0
}

func (r refSA) align() int {
	if r.alg == AESCBC {
		return 16
	}
	return 4
}

func (r refSA) icvLen() int {
	if r.integ == HMACSHA1_96 {
		return 12
	}
	return 16
}

func (r refSA) newMAC() hash.Hash {
	if r.integ == HMACSHA1_96 {
		return hmac.New(sha1.New, r.macKey)
	}
	return hmac.New(sha256.New, r.macKey)
}

// refICV is RFC 4303 §3.3.2.1's ICV: the HMAC of SPI through the end of the ciphertext,
// then seq-high (ESN, RFC 4303 §2.2.1), truncated (RFC 2404 §2, RFC 4868 §2.3).
func (r refSA) refICV(msg []byte, seqHi uint32) []byte {
	m := r.newMAC()
	m.Write(msg)
	if r.esn {
		m.Write(binary.BigEndian.AppendUint32(nil, seqHi))
	}
	return m.Sum(nil)[:r.icvLen()]
}

// refSeal builds a whole ESP packet: header, the given IV, payload padded 1, 2, 3, ... to the
// suite's alignment (or with the given trailer bytes when trailer != nil), encrypted, ICV.
func (r refSA) refSeal(spi, seqLo, seqHi uint32, iv, payload []byte, nh byte, trailer []byte) []byte {
	plain := bytes.Clone(payload)
	if trailer != nil {
		plain = append(plain, trailer...)
	} else {
		pad := (r.align() - (len(payload)+2)%r.align()) % r.align()
		for i := 1; i <= pad; i++ {
			plain = append(plain, byte(i))
		}
		plain = append(plain, byte(pad), nh)
	}
	pkt := binary.BigEndian.AppendUint32(nil, spi)
	pkt = binary.BigEndian.AppendUint32(pkt, seqLo)
	if r.alg == AESCBC {
		block, err := aes.NewCipher(r.encKey)
		if err != nil {
			panic(err)
		}
		ct := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
		pkt = append(append(pkt, iv...), ct...)
	} else {
		pkt = append(pkt, plain...)
	}
	return append(pkt, r.refICV(pkt, seqHi)...)
}

// refOpen checks and decrypts a whole ESP packet the plain way: it returns payload ‖ trailer,
// or ok false when the ICV does not match. It does not look at the padding.
func (r refSA) refOpen(pkt []byte, seqHi uint32) (plain []byte, ok bool) {
	n := len(pkt) - r.icvLen()
	if !hmac.Equal(r.refICV(pkt[:n], seqHi), pkt[n:]) {
		return nil, false
	}
	body := pkt[8+r.ivLen() : n]
	if r.alg != AESCBC {
		return bytes.Clone(body), true
	}
	block, err := aes.NewCipher(r.encKey)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(body))
	cipher.NewCBCDecrypter(block, pkt[8:24]).CryptBlocks(out, body)
	return out, true
}

// frameETM frames payload for tr the way the host does (R-TX-4): header, IV room (zero),
// payload, padding 1, 2, ..., pad length, next header, and MaxICVLen of tailroom.
func frameETM(tr *Transform, spi, seqLo uint32, payload []byte, nh byte) []byte {
	off := tr.PayloadOffset()
	pad := tr.PadLen(len(payload))
	pkt := make([]byte, off, off+len(payload)+pad+TrailerLen+MaxICVLen)
	PutHeader(pkt, spi, seqLo)
	pkt = append(pkt, payload...)
	return AppendTrailer(pkt, pad, nh)
}

// mustETM makes the transform for an etmSuite with fixed keys derived from seed.
func mustETM(t testing.TB, su etmSuite, esn bool, seed byte) (*Transform, refSA) {
	t.Helper()
	r := refSA{alg: su.alg, integ: su.integ, esn: esn,
		encKey: fill(su.keyLen, seed), macKey: fill(su.integ.KeyLen(), seed+0x40)}
	return mustTransform(t, r.params()), r
}

// fill returns n bytes seed, seed+1, ... (nil for n == 0, as NULL's KeyMat).
func fill(n int, seed byte) []byte {
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
