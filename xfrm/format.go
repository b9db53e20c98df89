package xfrm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ov2dev/ov2/esp"
)

// Format writes the states as `ip xfrm state add` commands, one per line, that ParseConfig
// (and Parse, when every state is ESP with an aead) reads back to equal states (File and
// Line aside) and that iproute2 accepts. It refuses, with an
// *Error, a state that Parse could not have returned (a 15-byte key, SPI 0, an unmasked
// selector prefix, …) and states that overlap, writing nothing.
func Format(w io.Writer, states []State) error {
	if err := checkAll(states); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	writeStates(bw, states)
	return bw.Flush()
}

func writeStates(bw *bufio.Writer, states []State) {
	for i := range states {
		s := &states[i]
		fmt.Fprintf(bw, "ip xfrm state add src %v dst %v proto %v spi 0x%08x reqid %d mode %v",
			s.Src, s.Dst, s.Proto, s.SPI, s.ReqID, s.Mode)
		if s.ReplayWindow > 0 {
			fmt.Fprintf(bw, " replay-window %d", s.ReplayWindow)
		}
		for _, f := range []struct {
			word string
			v    uint32
		}{
			{"replay-seq", uint32(s.Seq)}, {"replay-oseq", uint32(s.OSeq)},
			{"replay-seq-hi", uint32(s.Seq >> 32)}, {"replay-oseq-hi", uint32(s.OSeq >> 32)},
		} {
			if f.v != 0 {
				fmt.Fprintf(bw, " %s 0x%x", f.word, f.v)
			}
		}
		if s.ESN {
			bw.WriteString(" flag esn")
		}
		switch {
		case s.aead():
			fmt.Fprintf(bw, " aead '%s' 0x%x%x %d", algName(s.Alg), s.Key, s.Salt[:], 8*s.ICVLen)
		case s.Enc == EncNull:
			fmt.Fprintf(bw, ` enc '%s' ""`, nameNull)
		case s.Enc != NoEnc:
			fmt.Fprintf(bw, " enc '%v' 0x%x", s.Enc, s.EncKey)
		}
		if s.Auth != NoAuth {
			fmt.Fprintf(bw, " auth-trunc '%v' 0x%x %d", s.Auth, s.AuthKey, s.AuthTrunc)
		}
		if e := s.Encap; e != nil {
			fmt.Fprintf(bw, " encap espinudp %d %d %v", e.SPort, e.DPort, e.OA)
		}
		if s.Sel.Src.IsValid() || s.Sel.Dst.IsValid() {
			bw.WriteString(" sel")
			if s.Sel.Src.IsValid() {
				fmt.Fprintf(bw, " src %v", s.Sel.Src)
			}
			if s.Sel.Dst.IsValid() {
				fmt.Fprintf(bw, " dst %v", s.Sel.Dst)
			}
		}
		if s.Dir != Both {
			fmt.Fprintf(bw, " dir %v", s.Dir)
		}
		bw.WriteByte('\n')
	}
}

// checkAll checks each state and that none overlaps another.
func checkAll(states []State) error {
	where := func(i int) (string, int) {
		if states[i].File == "" {
			return fmt.Sprintf("states[%d]", i), 0
		}
		return states[i].File, states[i].Line
	}
	for i := range states {
		if field, msg := check(&states[i]); msg != "" {
			file, line := where(i)
			return &Error{File: file, Line: line, Field: field, Msg: msg}
		}
	}
	if i, j := duplicate(states); i >= 0 {
		file, line := where(i)
		return &Error{File: file, Line: line, Field: "spi", Msg: overlapMsg(&states[i], &states[j], states[j].Line)}
	}
	return nil
}

// Wireshark's names (epan/dissectors/packet-ipsec.c, esp_encryption_type_vals and
// esp_authentication_type_vals; tshark 4.0 refuses a row with any other, "invalid value").
// The authentication names are in authInfos.
const (
	wsNull       = "NULL"
	wsAuthAny128 = "ANY 128 bit authentication [no checking]"
	wsAESCBC     = "AES-CBC [RFC3602]" // the key size comes from the key
)

func wsGCM(icvLen int) string { return fmt.Sprintf("AES-GCM with %d octet ICV [RFC4106]", icvLen) }

// WriteWiresharkKeys writes Wireshark's ESP SA table: the file named esp_sa in a Wireshark
// profile directory (Preferences › Protocols › ESP › ESP SAs), one row per state, e.g.
//
//	"IPv4","192.0.2.1","198.51.100.2","0x00001001","AES-GCM with 16 octet ICV [RFC4106]","0x<key><salt>","NULL",""
//	"IPv4","192.0.2.1","198.51.100.2","0x00001003","AES-CBC [RFC3602]","0x<key>","HMAC-SHA-256-128 [RFC4868]","0x<key>"
//	"IPv4","192.0.2.1","198.51.100.2","0x00001004","NULL","","HMAC-SHA-1-96 [RFC2404]","0x<key>"
//
// An AH state gets no row: Wireshark's ESP SA table is for ESP only (Wireshark dissects AH
// without keys and checks nothing).
//
// Enable "Attempt to detect/decode encrypted ESP payloads" and "Attempt to Check ESP
// Authentication" in the same preferences for Wireshark to use it. IPv6 addresses are
// written in full, the form Wireshark compares.
//
// What Wireshark cannot do with it:
//
//   - AES-GMAC (RFC 4543): Wireshark has no such algorithm. A GMAC row says encryption "NULL"
//     and authentication "ANY 128 bit authentication [no checking]", with the key and salt in
//     the authentication key column for reference: the ICV is not checked, and because NULL
//     has no IV, Wireshark shows the 8-byte IV as the first bytes of the payload.
//   - ESN: rows have the eight columns tshark 4.0 reads, which have no sequence-number
//     length; tshark 4.0 therefore cannot check (or decrypt) ESN SAs, whose ICV covers the
//     high 32 bits. Later Wireshark releases add two columns ("SN": 32-bit or 64-bit, and
//     "ESN High Bits") that default to 32-bit and 0 for eight-column rows; set them by hand
//     for an ESN SA.
func WriteWiresharkKeys(w io.Writer, states []State) error {
	if err := checkAll(states); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for i := range states {
		s := &states[i]
		if s.Proto == AH {
			continue
		}
		keySalt := fmt.Sprintf("0x%x%x", s.Key, s.Salt[:])
		enc, encKey, auth, authKey := wsGCM(s.ICVLen), keySalt, wsNull, ""
		switch {
		case !s.aead():
			enc, encKey = wsNull, ""
			if s.Enc == EncAESCBC {
				enc, encKey = wsAESCBC, fmt.Sprintf("0x%x", s.EncKey)
			}
			auth, authKey = authInfos[s.Auth].ws, fmt.Sprintf("0x%x", s.AuthKey)
		case s.Alg == esp.AESGMAC:
			enc, encKey, auth, authKey = wsNull, "", wsAuthAny128, keySalt
		}
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%s,%s,%s\n",
			uatString(family(s.Src)), uatString(wsAddr(s.Src)), uatString(wsAddr(s.Dst)),
			uatString(fmt.Sprintf("0x%08x", s.SPI)),
			uatString(enc), uatString(encKey), uatString(auth), uatString(authKey))
	}
	return bw.Flush()
}

func wsAddr(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return a.StringExpanded()
}

// uatString quotes a UAT field; what we write never holds a quote or a backslash, which UAT
// would escape as \x22 and \x5c.
func uatString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\x5c`)
	return `"` + strings.ReplaceAll(s, `"`, `\x22`) + `"`
}
