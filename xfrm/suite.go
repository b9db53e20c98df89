package xfrm

import (
	"fmt"
	"strconv"

	"github.com/ov2dev/ov2/esp"
)

// Proto is the IPsec protocol of a state or a policy template: `proto esp` or `proto ah`.
type Proto uint8

// Protocols. ESP is the zero value, so a State built without a Proto is ESP, as every state
// was before AH.
const (
	ESP Proto = iota
	AH
)

// String gives the word `proto` takes: "esp", "ah".
func (p Proto) String() string {
	switch p {
	case ESP:
		return "esp"
	case AH:
		return "ah"
	}
	return "Proto(" + strconv.Itoa(int(p)) + ")"
}

// EncAlg is the cipher of an ESP state that has no aead: `enc NAME KEY`.
type EncAlg uint8

// Ciphers.
const (
	NoEnc     EncAlg = iota // no enc: an aead state, or AH
	EncNull                 // ecb(cipher_null): ESP-NULL (RFC 2410), integrity without encryption; no key
	EncAESCBC               // cbc(aes): AES-CBC (RFC 3602) with a 16, 24 or 32-byte key
)

// String gives the kernel's name, as `ip xfrm state` writes it: "ecb(cipher_null)",
// "cbc(aes)"; "" for NoEnc.
func (a EncAlg) String() string {
	switch a {
	case NoEnc:
		return ""
	case EncNull:
		return nameNull
	case EncAESCBC:
		return nameCBC
	}
	return "EncAlg(" + strconv.Itoa(int(a)) + ")"
}

// AuthAlg is the integrity algorithm of a state that has no aead: `auth NAME KEY` or
// `auth-trunc NAME KEY BITS`.
type AuthAlg uint8

// Integrity algorithms. The NIC offloads each with one truncation only.
const (
	NoAuth     AuthAlg = iota // no auth: an aead state
	AuthSHA1                  // hmac(sha1): HMAC-SHA-1-96 (RFC 2404), 20-byte key
	AuthSHA256                // hmac(sha256): HMAC-SHA-256-128 (RFC 4868), 32-byte key
)

// String gives the kernel's name, as `ip xfrm state` writes it: "hmac(sha1)",
// "hmac(sha256)"; "" for NoAuth.
func (a AuthAlg) String() string {
	if i, ok := authInfos[a]; ok {
		return i.name
	}
	if a == NoAuth {
		return ""
	}
	return "AuthAlg(" + strconv.Itoa(int(a)) + ")"
}

// Kernel names of the ciphers (net/xfrm/xfrm_algo.c).
const (
	nameCBC  = "cbc(aes)"
	nameNull = "ecb(cipher_null)"
)

// authInfo is what the kernel's algorithm table (net/xfrm/xfrm_algo.c, aalg_list) and the
// RFCs say about an HMAC, and what the NIC does with it.
type authInfo struct {
	name     string // the kernel's name
	keyLen   int    // bytes, as the RFC fixes it
	fullBits int    // the HMAC's output: the most auth-trunc may keep
	defBits  int    // what Linux truncates to for `auth` without -trunc (icv_truncbits)
	nicBits  int    // the only truncation the NIC offloads
	label    string // the RFC's name of the transform the NIC does
	rfc      string
	ws       string // Wireshark's name for it (esp_authentication_type_vals)
}

var authInfos = map[AuthAlg]authInfo{
	AuthSHA1: {"hmac(sha1)", 20, 160, 96, 96, "HMAC-SHA-1-96", "RFC 2404", "HMAC-SHA-1-96 [RFC2404]"},
	// Linux gives hmac(sha256) without -trunc 96 bits (icv_truncbits 96 in aalg_list: it
	// followed draft-ietf-ipsec-ciph-sha-256-00, which predates RFC 4868's 128).
	AuthSHA256: {"hmac(sha256)", 32, 256, 96, 128, "HMAC-SHA-256-128", "RFC 4868", "HMAC-SHA-256-128 [RFC4868]"},
}

// The kernel also finds an algorithm by its "compat" name (`auth sha1`, `enc aes`); the
// listing always shows the full name.
var (
	encNames  = map[string]EncAlg{nameCBC: EncAESCBC, "aes": EncAESCBC, nameNull: EncNull, "cipher_null": EncNull}
	authNames = map[string]AuthAlg{"hmac(sha1)": AuthSHA1, "sha1": AuthSHA1, "hmac(sha256)": AuthSHA256, "sha256": AuthSHA256}
)

// Algorithms the NIC never offloads (nic: DES, 3DES and MD5 are never advertised), by every
// name the kernel knows them by, with what to say about them.
var broken = map[string]string{
	"cbc(des)": "cbc(des) (DES)", "des": "cbc(des) (DES)",
	"cbc(des3_ede)": "cbc(des3_ede) (3DES)", "des3_ede": "cbc(des3_ede) (3DES)",
	"hmac(md5)": "hmac(md5) (HMAC-MD5-96)", "md5": "hmac(md5) (HMAC-MD5-96)",
}

const brokenWhy = "is never offloaded: ov2 never advertises DES, 3DES or MD5 (the NDIS DES_CBC, 3_DES_CBC and MD5 bits)"

// truncMsg says why the NIC cannot take an HMAC truncated to bits.
func truncMsg(a AuthAlg, bits int) string {
	i := authInfos[a]
	return fmt.Sprintf("%s truncated to %d bits: the NIC does %s (%s) only", i.name, bits, i.label, i.rfc)
}

// aead says whether the state has an aead (rather than enc and auth, or AH's auth).
func (s *State) aead() bool { return s.Proto == ESP && s.Enc == NoEnc && s.Auth == NoAuth }

// SuiteName names the state's protocol and algorithms the way the RFCs do, with the key
// size: "ESP AES-GCM-128 (16-byte ICV)", "ESP AES-GMAC-256", "ESP AES-CBC-256 +
// HMAC-SHA-256-128", "ESP NULL + HMAC-SHA-1-96", "AH HMAC-SHA-1-96".
func (s *State) SuiteName() string {
	auth := ""
	if i, ok := authInfos[s.Auth]; ok {
		auth = i.label
	}
	switch {
	case s.Proto == AH:
		return "AH " + auth
	case s.Enc == EncAESCBC:
		return fmt.Sprintf("ESP AES-CBC-%d + %s", 8*len(s.EncKey), auth)
	case s.Enc == EncNull:
		return "ESP NULL + " + auth
	case s.Alg == esp.AESGMAC:
		return fmt.Sprintf("ESP AES-GMAC-%d", 8*len(s.Key))
	}
	return fmt.Sprintf("ESP AES-GCM-%d (%d-byte ICV)", 8*len(s.Key), s.ICVLen)
}

// checkAlgs checks a state's protocol and algorithms; see check.
func checkAlgs(s *State) (field, msg string) {
	if s.aead() {
		switch {
		case s.Alg != esp.AESGCM && s.Alg != esp.AESGMAC:
			return "aead", fmt.Sprintf("algorithm %v is not AES-GCM or AES-GMAC", s.Alg)
		case len(s.Key) != 16 && len(s.Key) != 24 && len(s.Key) != 32:
			return "aead", fmt.Sprintf("key is %d bytes; want 16, 24 or 32", len(s.Key))
		case s.Alg == esp.AESGMAC && s.ICVLen != 16:
			return "aead", fmt.Sprintf("ICV of %d bytes with AES-GMAC; want 16", s.ICVLen)
		case s.ICVLen != 8 && s.ICVLen != 12 && s.ICVLen != 16:
			return "aead", fmt.Sprintf("ICV of %d bytes; want 8, 12 or 16", s.ICVLen)
		}
		return "", ""
	}
	info, known := authInfos[s.Auth]
	switch {
	case s.Proto != ESP && s.Proto != AH:
		return "proto", fmt.Sprintf("%v is not esp or ah", s.Proto)
	case s.Alg != 0 || len(s.Key) != 0 || s.ICVLen != 0 || s.Salt != [4]byte{}:
		return "aead", fmt.Sprintf("aead fields (Alg %v, Key, Salt, ICVLen) set on %s state with enc or auth", s.Alg, s.Proto)
	case s.Proto == AH && s.Enc != NoEnc:
		return "enc", "AH authenticates only: it takes auth or auth-trunc, not enc"
	case s.Proto == AH && s.Encap != nil:
		return "encap", "AH cannot be UDP-encapsulated; encap espinudp is for ESP (RFC 3948)"
	case s.Proto == ESP && s.Enc == NoEnc:
		return "enc", "missing: ESP with auth needs enc"
	case s.Enc == EncNull && len(s.EncKey) != 0:
		return "enc", fmt.Sprintf("%s takes no key; this one is %d bytes", nameNull, len(s.EncKey))
	case s.Enc == EncAESCBC && len(s.EncKey) != 16 && len(s.EncKey) != 24 && len(s.EncKey) != 32:
		return "enc", fmt.Sprintf("key is %d bytes; %s needs 16, 24 or 32", len(s.EncKey), nameCBC)
	case s.Enc > EncAESCBC:
		return "enc", fmt.Sprintf("%v is not %s or %s", s.Enc, nameCBC, nameNull)
	case s.Auth == NoAuth:
		return "auth", fmt.Sprintf("missing: %s needs auth or auth-trunc", s.SuiteName())
	case !known:
		return "auth", fmt.Sprintf("%v is not hmac(sha1) or hmac(sha256)", s.Auth)
	case len(s.AuthKey) != info.keyLen:
		return "auth", fmt.Sprintf("key is %d bytes; %s needs %d (%s)", len(s.AuthKey), info.name, info.keyLen, info.rfc)
	case s.AuthTrunc != info.nicBits:
		return "auth-trunc", truncMsg(s.Auth, s.AuthTrunc)
	}
	return "", ""
}
