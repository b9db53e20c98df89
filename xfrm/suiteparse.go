package xfrm

import (
	"encoding/hex"
	"math"
	"strings"
)

// enc reads `enc NAME KEY`: cbc(aes) with a 16, 24 or 32-byte key, or ecb(cipher_null) with
// none (`""` as typed; the listing prints nothing after the name, older iproute2 "0x").
func (p *stateParser) enc(t token) error {
	if err := p.once("enc", t); err != nil {
		return err
	}
	if err := p.conflict(t, "enc"); err != nil {
		return err
	}
	incomplete := p.errf(t, "enc", "incomplete; want enc ALGO KEY")
	algo, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	alg, known := encNames[algo.text]
	switch {
	case broken[algo.text] != "":
		return p.errf(algo, "enc", "%s %s; use %s", broken[algo.text], brokenWhy, nameCBC)
	case !known:
		return p.errf(algo, "enc", "algorithm %q is not supported; want %s or %s", algo.text, nameCBC, nameNull)
	}
	p.st.Enc = alg
	if alg == EncNull {
		k, ok := p.peek()
		switch {
		case ok && k.text == "<<Keys" && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "hidden>>":
			p.i += 2 // a "nokeys" listing: there is no key to hide
			return nil
		case !ok || k.text != "" && !strings.HasPrefix(k.text, "0x") && !strings.HasPrefix(k.text, "0X"):
			return nil // the listing: nothing follows the name
		}
		p.i++
		key, err := p.hexKey(k, "enc", true)
		if err != nil {
			return err
		}
		if len(key) != 0 {
			return p.errf(k, "enc", `%s takes no key; write ""`, nameNull)
		}
		return p.keyBits("enc", 0)
	}
	k, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	key, err := p.hexKey(k, "enc", false)
	if err != nil {
		return err
	}
	if len(key) != 16 && len(key) != 24 && len(key) != 32 {
		return p.errf(k, "enc", "key is %d bytes; %s needs 16, 24 or 32 (AES-128, AES-192 or AES-256)", len(key), nameCBC)
	}
	p.st.EncKey = key
	return p.keyBits("enc", len(key))
}

// auth reads `auth NAME KEY` and `auth-trunc NAME KEY BITS`. It takes any truncation the
// kernel would (a multiple of 8 up to the HMAC's output), then refuses, naming the field,
// any the NIC does not do.
func (p *stateParser) auth(t token) error {
	if err := p.once("auth", t); err != nil {
		return err
	}
	if err := p.conflict(t, "auth"); err != nil {
		return err
	}
	trunc := t.text == "auth-trunc"
	incomplete := p.errf(t, t.text, "incomplete; want auth ALGO KEY or auth-trunc ALGO KEY BITS")
	algo, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	alg, known := authNames[algo.text]
	switch {
	case broken[algo.text] != "":
		return p.errf(algo, t.text, "%s %s; use hmac(sha1) or hmac(sha256)", broken[algo.text], brokenWhy)
	case algo.text == nameGMAC:
		return p.errf(algo, t.text, "%s is an aead, not an auth algorithm: Linux has no AES-GMAC for AH, and ESP takes it as aead '%s' KEY+SALT 128",
			nameGMAC, nameGMAC)
	case !known:
		return p.errf(algo, t.text, "algorithm %q is not supported; want hmac(sha1) or hmac(sha256)", algo.text)
	}
	info := authInfos[alg]
	k, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	key, err := p.hexKey(k, t.text, false)
	if err != nil {
		return err
	}
	if len(key) != info.keyLen {
		return p.errf(k, t.text, "key is %d bytes; %s needs %d (%s)", len(key), info.name, info.keyLen, info.rfc)
	}
	if err := p.keyBits(t.text, len(key)); err != nil {
		return err
	}
	bits := info.defBits
	if trunc {
		if _, ok := p.peek(); !ok {
			return incomplete
		}
		n, err := p.number(t, math.MaxUint32)
		if err != nil {
			return err
		}
		if n == 0 || n%8 != 0 || n > uint64(info.fullBits) {
			return p.errf(p.toks[p.i-1], t.text, "truncation to %d bits is not valid for %s; want a multiple of 8 up to %d",
				n, info.name, info.fullBits)
		}
		bits = int(n)
	}
	if bits != info.nicBits {
		msg := truncMsg(alg, bits)
		if !trunc {
			msg += "; Linux truncates auth " + info.name + " to 96 bits (it predates RFC 4868): write auth-trunc '" +
				info.name + "' KEY 128"
		}
		return p.errf(p.toks[p.i-1], t.text, "%s", msg)
	}
	p.st.Auth, p.st.AuthKey, p.st.AuthTrunc = alg, key, bits
	return nil
}

// hexKey reads a key written 0x followed by hex digits. emptyOK lets "" and "0x" (no key)
// through, for ecb(cipher_null).
func (p *stateParser) hexKey(k token, field string, emptyOK bool) ([]byte, error) {
	if k.text == "<<Keys" {
		return nil, p.errf(k, field, `the key is hidden (a "nokeys" listing); paste one that shows keys`)
	}
	if emptyOK && (k.text == "" || k.text == "0x" || k.text == "0X") {
		return nil, nil
	}
	digits, isHex := strings.CutPrefix(k.text, "0x")
	if !isHex {
		digits, isHex = strings.CutPrefix(k.text, "0X")
	}
	key, err := hex.DecodeString(digits)
	switch {
	case !isHex || digits == "":
		return nil, p.errf(k, field, "key %q is not 0x followed by hex digits", k.text)
	case len(digits)%2 != 0:
		return nil, p.errf(k, field, "key has an odd number of hex digits (%d)", len(digits))
	case err != nil:
		return nil, p.errf(k, field, "key %q is not 0x followed by hex digits", k.text)
	}
	return key, nil
}

// keyBits skips the key's size that `ip -s` prints after it, "(128 bits)", checking it.
func (p *stateParser) keyBits(field string, n int) error {
	b, ok := p.peek()
	if !ok || !strings.HasPrefix(b.text, "(") || p.i+1 >= len(p.toks) || p.toks[p.i+1].text != "bits)" {
		return nil
	}
	if v, msg := parseNum(b.text[1:], math.MaxUint32); msg != "" || v != uint64(8*n) {
		return p.errf(b, field, "key is %d bits, not %s", 8*n, b.text[1:])
	}
	p.i += 2
	return nil
}

// conflict refuses a keyword that cannot go with one seen before it; whichever of the two
// comes second gets the error, so the order they are written in does not matter. canon is
// "aead", "enc", "auth" (auth or auth-trunc), "encap" or "ah" (proto ah).
func (p *stateParser) conflict(t token, canon string) error {
	const aeadWhy = "aead encrypts and authenticates by itself"
	const ahWhy = "AH authenticates only: it takes auth or auth-trunc, not "
	const encapWhy = "AH cannot be UDP-encapsulated; encap espinudp is for ESP (RFC 3948)"
	ah, isAH := p.seen["ah"]
	switch canon {
	case "aead":
		for _, o := range []string{"enc", "auth"} {
			if k, ok := p.seen[o]; ok {
				return p.errf(t, t.text, "cannot be combined with %s (line %d): %s", k.text, k.line, aeadWhy)
			}
		}
		if isAH {
			return p.errf(t, t.text, "%saead (proto ah, line %d)", ahWhy, ah.line)
		}
	case "enc", "auth":
		if k, ok := p.seen["aead"]; ok {
			return p.errf(t, t.text, "cannot be combined with aead (line %d): %s", k.line, aeadWhy)
		}
		if isAH && canon == "enc" {
			return p.errf(t, t.text, "%senc (proto ah, line %d)", ahWhy, ah.line)
		}
	case "encap":
		if isAH {
			return p.errf(t, t.text, "%s (proto ah, line %d)", encapWhy, ah.line)
		}
	case "ah":
		for _, o := range []string{"aead", "enc"} {
			if k, ok := p.seen[o]; ok {
				return p.errf(t, "proto", "%s%s (line %d)", ahWhy, o, k.line)
			}
		}
		if k, ok := p.seen["encap"]; ok {
			return p.errf(t, "proto", "%s (encap, line %d)", encapWhy, k.line)
		}
	}
	return nil
}

// finishAlgs checks that a state read by ParseConfig has the algorithms its protocol needs.
func (p *stateParser) finishAlgs() error {
	st := &p.st
	start := token{line: p.start}
	_, hasAEAD := p.seen["aead"]
	encTok, hasEnc := p.seen["enc"]
	authTok, hasAuth := p.seen["auth"]
	switch {
	case st.Proto == AH && !hasAuth:
		return p.errf(start, "auth", "missing (an AH state needs auth or auth-trunc)")
	case st.Proto == AH || hasAEAD:
		return nil
	case !hasEnc && !hasAuth:
		return p.errf(start, "aead", "missing (an ESP state needs aead, or enc and auth or auth-trunc)")
	case !hasAuth:
		return p.errf(encTok, "auth", "missing: enc %v needs auth or auth-trunc (ov2 does not offload ESP without integrity)", st.Enc)
	case !hasEnc:
		return p.errf(authTok, "enc", `missing: ESP with %s needs enc (Linux refuses ESP without one; for ESP-NULL write enc '%s' "")`,
			authTok.text, nameNull)
	}
	return nil
}
