package xfrm

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// Key material used across the tests: AES key ‖ 4-byte salt, as `ip xfrm` writes it.
const (
	k128 = "00112233445566778899aabbccddeeff" + "01020304"
	k192 = "000102030405060708090a0b0c0d0e0f1011121314151617" + "a1a2a3a4"
	k256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + "b1b2b3b4"
)

// keyed sets Key and Salt from the hex of key ‖ salt.
func keyed(s State, keySalt string) State {
	b, err := hex.DecodeString(keySalt)
	if err != nil {
		panic(err)
	}
	s.Key = b[:len(b)-4]
	copy(s.Salt[:], b[len(b)-4:])
	return s
}

func addr(s string) netip.Addr            { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix           { return netip.MustParsePrefix(s) }
func encap(s, d uint16, oa string) *Encap { return &Encap{SPort: s, DPort: d, OA: addr(oa)} }

func dump(s State) string {
	e := "nil"
	if s.Encap != nil {
		e = fmt.Sprintf("%+v", *s.Encap)
	}
	return fmt.Sprintf("{%s:%d %v->%v spi=%#x reqid=%d %v %v key=%x salt=%x icv=%d esn=%v win=%d seq=%#x oseq=%#x encap=%s sel=%v dir=%v}",
		s.File, s.Line, s.Src, s.Dst, s.SPI, s.ReqID, s.Mode, s.Alg, s.Key, s.Salt, s.ICVLen, s.ESN,
		s.ReplayWindow, s.Seq, s.OSeq, e, s.Sel, s.Dir)
}

func dumpAll(ss []State) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString("\n\t" + dump(s))
	}
	return b.String()
}

func equalStates(t *testing.T, got, want []State) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("states differ\n got:%s\nwant:%s", dumpAll(got), dumpAll(want))
	}
}

// withoutPlace clears File and Line, which a round trip does not keep.
func withoutPlace(ss []State) []State {
	out := make([]State, len(ss))
	for i, s := range ss {
		s.File, s.Line = "", 0
		out[i] = s
	}
	return out
}
