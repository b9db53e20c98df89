package esp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// hexs decodes hex written the way RFCs print it, in groups separated by spaces and newlines.
func hexs(t testing.TB, s string) []byte {
	t.Helper()
	return unhex(t, strings.Join(strings.Fields(s), ""))
}

// rfc3602Cases are the four ESP packets of RFC 3602 §4 (cases #5-#8: "sample transport-mode"
// and "sample tunnel-mode" ESP packets, AES-CBC-128 and no authentication): the key, the IV
// the RFC used, the data before encryption (payload only: the test pads it with
// AppendTrailer, which must give the RFC's padding) and the ESP packet from the SPI to the
// end of the ciphertext.
var rfc3602Cases = []struct {
	name, key, iv string
	spi, seq      uint32
	payload       string
	nextHeader    byte
	esp           string
}{
	{
		name: "case 5: transport, 64-byte ICMP", key: "90d382b4 10eeba7a d938c46c ec1a82bf",
		iv: "e96e8c08 ab465763 fd098d45 dd3ff893", spi: 0x4321, seq: 1, nextHeader: 1,
		payload: `08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
		          18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637`,
		esp: `00004321 00000001 e96e8c08 ab465763 fd098d45 dd3ff893
		      f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856
		      a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a
		      a269add0 47ad2d59 13ac19b7 cfbad4a6`,
	},
	{
		name: "case 6: transport, 28-byte ICMP", key: "90d382b4 10eeba7a d938c46c ec1a82bf",
		iv: "69d08df7 d203329d b093fc49 24e5bd80", spi: 0x4321, seq: 8, nextHeader: 1,
		payload: "0800b5e8 a80a0500 a69c083d 0b660e00 77777777 77777777 77777777",
		esp: `00004321 00000008 69d08df7 d203329d b093fc49 24e5bd80
		      f5199588 1ec4e0c4 488987ce 742e8109 689bb379 d2d750c0 d915dca3 46a89f75`,
	},
	{
		name: "case 7: tunnel, 84-byte IPv4 ICMP", key: "01234567 89abcdef 01234567 89abcdef",
		iv: "f4e76524 4f6407ad f13dc138 0f673f37", spi: 0x8765, seq: 2, nextHeader: 4,
		payload: `45000054 09040000 4001f988 c0a87b03 c0a87bc8 08009f76 a90a0100 b49c083d
		          02a20400 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f 20212223
		          24252627 28292a2b 2c2d2e2f 30313233 34353637`,
		esp: `00008765 00000002 f4e76524 4f6407ad f13dc138 0f673f37
		      773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8
		      e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5
		      c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d`,
	},
	{
		name: "case 8: tunnel, 68-byte IPv4 ICMP", key: "01234567 89abcdef 01234567 89abcdef",
		iv: "85d47224 b5f3dd5d 2101d4ea 8dffab22", spi: 0x8765, seq: 5, nextHeader: 4,
		payload: `45000044 090c0000 4001f990 c0a87b03 c0a87bc8 0800d63c aa0a0200 c69c083d
		          a3de0300 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff
		          ffffffff`,
		esp: `00008765 00000005 85d47224 b5f3dd5d 2101d4ea 8dffab22
		      15b92683 819596a8 047232cc 00f7048f e45318e1 1f8a0f62 ede3c3fc 61203bb5
		      0f980a08 c9843fd3 a1b06d5c 07ff9639 b7eb7dfb 3512e5de 435e7207 ed971ef3
		      d2726d9b 5ef6affc 6d17a0de cbb13892`,
	},
}

// TestRFC3602Vectors reproduces RFC 3602 §4 cases #5-#8 byte for byte: framed with the
// suite's padding helpers and sealed with the RFC's IV, the packet up to the ICV must be the
// RFC's ESP packet (encrypt-then-MAC leaves the encryption independent of the integrity
// algorithm, which the RFC's cases do not have; the ICV is checked against crypto/hmac).
// Open must verify, decrypt in place and give back the payload and trailer, ParseTrailer the
// payload and next header. With both HMACs and with and without ESN. SPEC §2 (AES-CBC
// advertised), R-TX-4, R-RX-6.
func TestRFC3602Vectors(t *testing.T) {
	for _, c := range rfc3602Cases {
		for _, integ := range []Integrity{HMACSHA1_96, HMACSHA256_128} {
			for _, esn := range []bool{false, true} {
				r := refSA{alg: AESCBC, encKey: hexs(t, c.key), integ: integ, macKey: fill(integ.KeyLen(), 0x11), esn: esn}
				tr := mustTransform(t, r.params())
				payload := hexs(t, c.payload)
				pkt := frameETM(tr, c.spi, c.seq, payload, c.nextHeader)
				copy(pkt[HeaderLen:], hexs(t, c.iv))
				sealed, err := tr.sealETM(new(Scratch), pkt, 7, true)
				want := hexs(t, c.esp)
				if err != nil || !bytes.Equal(sealed[:len(want)], want) {
					t.Fatalf("%s/%v/ESN=%v: Seal = %v,\n got %x\nwant %x", c.name, integ, esn, err, sealed, want)
				}
				if icv := sealed[len(want):]; !bytes.Equal(icv, r.refICV(want, 7)) {
					t.Errorf("%s/%v/ESN=%v: ICV %x, want %x", c.name, integ, esn, icv, r.refICV(want, 7))
				}
				plain, err := tr.Open(new(Scratch), sealed, 7)
				if err != nil {
					t.Fatalf("%s: Open: %v", c.name, err)
				}
				got, _, nh, err := ParseTrailer(plain)
				if err != nil || !bytes.Equal(got, payload) || nh != c.nextHeader {
					t.Errorf("%s: opened payload %x nh %d (%v), want %x nh %d", c.name, got, nh, err, payload, c.nextHeader)
				}
			}
		}
	}
}

// hmacVector is one published HMAC test case: key, data and the (possibly truncated) output.
type hmacVector struct {
	name  string
	alg   Integrity
	key   []byte
	data  []byte
	want  string // hex; the full HMAC, or the truncated one where the RFC gives only that
	trunc string // hex; the IPsec ICV (RFC 2404 §2: 96 bits, RFC 4868 §2.3: 128 bits)
}

func hmacVectors() []hmacVector {
	rep := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	seq := func(n int) []byte { return fill(n, 1) }
	return []hmacVector{
		// RFC 2202 §3, HMAC-SHA-1 test cases 1-7.
		{"RFC 2202 case 1", HMACSHA1_96, rep(0x0b, 20), []byte("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00", ""},
		{"RFC 2202 case 2", HMACSHA1_96, []byte("Jefe"), []byte("what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", ""},
		{"RFC 2202 case 3", HMACSHA1_96, rep(0xaa, 20), rep(0xdd, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3", ""},
		{"RFC 2202 case 4", HMACSHA1_96, seq(25), rep(0xcd, 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da", ""},
		{"RFC 2202 case 5", HMACSHA1_96, rep(0x0c, 20), []byte("Test With Truncation"),
			"4c1a03424b55e07fe7f27be1d58bb9324a9a5a04", "4c1a03424b55e07fe7f27be1"}, // the RFC's digest-96
		{"RFC 2202 case 6", HMACSHA1_96, rep(0xaa, 80), []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"aa4ae5e15272d00e95705637ce8a3b55ed402112", ""},
		{"RFC 2202 case 7", HMACSHA1_96, rep(0xaa, 80), []byte("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
			"e8e99d0f45237d786d6bbaa7965c7808bbff1a91", ""},
		// RFC 4231 §4, HMAC-SHA-256 test cases 1-7 (case 5 is published truncated to 128 bits).
		{"RFC 4231 case 1", HMACSHA256_128, rep(0x0b, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", ""},
		{"RFC 4231 case 2", HMACSHA256_128, []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", ""},
		{"RFC 4231 case 3", HMACSHA256_128, rep(0xaa, 20), rep(0xdd, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", ""},
		{"RFC 4231 case 4", HMACSHA256_128, seq(25), rep(0xcd, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", ""},
		{"RFC 4231 case 5", HMACSHA256_128, rep(0x0c, 20), []byte("Test With Truncation"), "", "a3b6167473100ee06e0c796c2955552b"},
		{"RFC 4231 case 6", HMACSHA256_128, rep(0xaa, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", ""},
		{"RFC 4231 case 7", HMACSHA256_128, rep(0xaa, 131),
			[]byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", ""},
		// RFC 4868 §2.7.2.1, the AUTH256 test cases: HMAC-SHA-256 with 32-byte keys, the
		// 128-bit truncation being the IPsec ICV. (Its PRF cases, §2.7.1, are RFC 4231's
		// cases 1-4 and 6-7 above.)
		{"RFC 4868 AUTH256-1", HMACSHA256_128, rep(0x0b, 32), []byte("Hi There"),
			"198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7", "198a607eb44bfbc69903a0f1cf2bbdc5"},
		{"RFC 4868 AUTH256-2", HMACSHA256_128, []byte("JefeJefeJefeJefeJefeJefeJefeJefe"), []byte("what do ya want for nothing?"),
			"167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6", "167f928588c5cc2eef8e3093caa0e87c"},
		{"RFC 4868 AUTH256-3", HMACSHA256_128, rep(0xaa, 32), rep(0xdd, 50),
			"cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0", "cdcb1220d1ecccea91e53aba3092f962"},
		{"RFC 4868 AUTH256-4", HMACSHA256_128, seq(32), rep(0xcd, 50),
			"372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f", "372efcf9b40b35c2115b1346903d2ef4"},
	}
}

// TestHMACVectors runs the RFC 2202, RFC 4231 and RFC 4868 HMAC test vectors through the data
// path's HMAC (precomputed pad states restored into a lane's hash object, hmac.go), with
// keys of every length those RFCs use, twice each on one lane to show the lane keeps nothing
// between uses. Where the key has the IPsec length (20 bytes for SHA-1, 32 for SHA-256) the
// vector also goes through the two public paths with their truncation: the ESP transform's
// ICV (NULL + HMAC, whose ICV is the truncated HMAC of the bytes given) and Auth (AH).
func TestHMACVectors(t *testing.T) {
	l := new(laneState)
	for _, v := range hmacVectors() {
		// Both forms: crypto/sha* objects restored from the pad states, and (fast, where
		// the CPU has the SHA extensions) ov2's HMAC-SHA-256.
		for _, fast := range []bool{false, true} {
			k := newHMACKey(v.alg, v.key, fast)
			for range 2 {
				got := hex.EncodeToString(k.sum(l, [][]byte{v.data}))
				if v.want != "" && got != v.want {
					t.Errorf("%s (fast %v): HMAC %s, want %s", v.name, k.fast != nil, got, v.want)
				}
				if v.trunc != "" && got[:len(v.trunc)] != v.trunc {
					t.Errorf("%s (fast %v): truncated HMAC %s, want %s", v.name, k.fast != nil, got[:len(v.trunc)], v.trunc)
				}
			}
		}
		if len(v.key) != v.alg.KeyLen() {
			continue
		}
		want := v.trunc
		if want == "" {
			want = v.want[:2*v.alg.ICVLen()]
		}
		tr := mustTransform(t, Params{Alg: NULL, Integrity: v.alg, IntegrityKey: v.key})
		if got := hex.EncodeToString(tr.icv(l, v.data, 0)); got != want {
			t.Errorf("%s: Transform ICV %s, want %s", v.name, got, want)
		}
		a, err := NewAuth(v.alg, v.key)
		if err != nil {
			t.Fatal(err)
		}
		icv := make([]byte, a.ICVLen())
		data := bytes.Clone(v.data)
		if err := a.Sum(new(Scratch), icv, nil, data[:3], data[3:]); err != nil || hex.EncodeToString(icv) != want {
			t.Errorf("%s: Auth.Sum = %x, %v; want %s", v.name, icv, err, want)
		}
		if err := a.Verify(new(Scratch), icv, nil, data); err != nil {
			t.Errorf("%s: Auth.Verify: %v", v.name, err)
		}
	}
}

// TestAuthGMACVector checks Auth's AES-GMAC against the one AES-GMAC case of
// draft-mcgrew-gcm-test-01 (testdata/esp_gcm_vectors.json): the GMAC tag of the ESP packet up
// to the ICV, under the case's key, salt and IV, must be the case's ICV. (The AAD framing is
// ESP's there; AH only changes what the caller passes as parts.)
func TestAuthGMACVector(t *testing.T) {
	for _, v := range loadDraft(t) {
		if v.Algorithm != "AES-GMAC-ESP" || v.ESN {
			continue
		}
		alg := map[int]Integrity{128: GMAC128, 192: GMAC192, 256: GMAC256}[v.KeyBits]
		a, err := NewAuth(alg, unhex(t, v.KeyMat))
		if err != nil {
			t.Fatal(err)
		}
		pkt := unhex(t, v.Packet)
		aad := pkt[:len(pkt)-16]
		icv := make([]byte, 16)
		s := new(Scratch)
		if err := a.Sum(s, icv, unhex(t, v.IV), aad); err != nil || !bytes.Equal(icv, unhex(t, v.ICV)) {
			t.Errorf("%s: Auth.Sum = %x, %v; want %s", v.Name, icv, err, v.ICV)
		}
		if err := a.Sum(s, icv, unhex(t, v.IV), aad[:5], aad[5:9], aad[9:]); err != nil || !bytes.Equal(icv, unhex(t, v.ICV)) {
			t.Errorf("%s: Auth.Sum in three parts = %x, %v; want %s", v.Name, icv, err, v.ICV)
		}
		if err := a.Verify(s, unhex(t, v.ICV), unhex(t, v.IV), aad); err != nil {
			t.Errorf("%s: Verify: %v", v.Name, err)
		}
		bad := bytes.Clone(aad)
		bad[len(bad)-1] ^= 1
		if err := a.Verify(s, unhex(t, v.ICV), unhex(t, v.IV), bad); err != ErrAuth {
			t.Errorf("%s: Verify of a changed AAD = %v, want ErrAuth", v.Name, err)
		}
		return
	}
	t.Fatal("no AES-GMAC case without ESN in the draft vectors")
}
