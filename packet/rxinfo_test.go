package packet

import (
	"errors"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

// R-RX-4, R-RX-6, R-RX-7: exact receive words.
func TestRxWords(t *testing.T) {
	cases := []struct {
		rx           RxInfo
		word, header uint32
	}{
		{RxInfo{}, 0x00000000, 0x00000000},
		{RxInfo{SaDeleteReq: true, CryptoDone: true, CryptoStatus: ndis.CryptoTransportESPAuthFailed}, 0x00030003, 0},
		{RxInfo{CryptoDone: true, HeaderInfoSet: true, NextHeader: 4, PadLength: 2}, 0x00000002, 0x00010204},
		{RxInfo{CryptoDone: true, NextCryptoDone: true, CryptoStatus: ndis.CryptoTunnelESPAuthFailed}, 0x00050006, 0},
		{RxInfo{SaDeleteReq: true}, 0x00000001, 0},
		{RxInfo{CryptoDone: true, CryptoStatus: ndis.CryptoInvalidProtocol}, 0x00070002, 0},
		{RxInfo{CryptoDone: true, NextCryptoDone: true, HeaderInfoSet: true, NextHeader: 41, PadLength: 255}, 0x00000006, 0x0001FF29},
	}
	for _, c := range cases {
		if got := c.rx.Word(); got != c.word {
			t.Errorf("%v: Word() = 0x%08X, want 0x%08X", c.rx, got, c.word)
		}
		if got := c.rx.HeaderWord(); got != c.header {
			t.Errorf("%v: HeaderWord() = 0x%08X, want 0x%08X", c.rx, got, c.header)
		}
		back, err := RxInfoFromWords(c.word, c.header)
		if err != nil || back != c.rx {
			t.Errorf("RxInfoFromWords(0x%08X, 0x%08X) = %v, %v; want %v", c.word, c.header, back, err, c.rx)
		}
	}
}

// allRx lists every combination of the three flags, every CryptoStatus and HeaderInfoSet.
func allRx() []RxInfo {
	var out []RxInfo
	for flags := 0; flags < 8; flags++ {
		for cs := ndis.CryptoSuccess; cs <= ndis.CryptoInvalidProtocol; cs++ {
			for his := 0; his < 2; his++ {
				out = append(out, RxInfo{
					SaDeleteReq:    flags&1 != 0,
					CryptoDone:     flags&2 != 0,
					NextCryptoDone: flags&4 != 0,
					CryptoStatus:   cs,
					HeaderInfoSet:  his == 1,
					NextHeader:     uint8(50 + flags),
					PadLength:      uint8(cs),
				})
			}
		}
	}
	return out
}

// R-RX-4: NDIS form and xfrm form both round-trip for every status and flag combination.
func TestRxRoundTrips(t *testing.T) {
	all := allRx()
	if len(all) != 8*8*2 {
		t.Fatalf("%d combinations, want 128", len(all))
	}
	for _, r := range all {
		back, err := RxInfoFromWords(r.Word(), r.HeaderWord())
		if err != nil || back != r {
			t.Errorf("NDIS round trip of %v: %v, %v", r, back, err)
		}
		flags, status := r.Xfrm()
		if flags>>3 != 0 || status != 1<<r.CryptoStatus {
			t.Errorf("%v: Xfrm() = 0x%X, 0x%X", r, flags, status)
		}
		fromX, err := RxInfoFromXfrm(flags, status)
		want := RxInfo{SaDeleteReq: r.SaDeleteReq, CryptoDone: r.CryptoDone, NextCryptoDone: r.NextCryptoDone, CryptoStatus: r.CryptoStatus}
		if err != nil || fromX != want {
			t.Errorf("xfrm round trip of %v: %v, %v; want %v", r, fromX, err, want)
		}
		f2, s2 := fromX.Xfrm()
		if f2 != flags || s2 != status {
			t.Errorf("xfrm words of %v changed: 0x%X 0x%X -> 0x%X 0x%X", r, flags, status, f2, s2)
		}
	}
}

// The exact Linux values, for anyone comparing with a kernel trace.
func TestRxXfrmValues(t *testing.T) {
	if XfrmSADeleteReq != 1 || XfrmCryptoDone != 2 || XfrmCryptoNextDone != 4 {
		t.Fatalf("xfrm flags %d %d %d, want 1 2 4", XfrmSADeleteReq, XfrmCryptoDone, XfrmCryptoNextDone)
	}
	r := RxInfo{SaDeleteReq: true, CryptoDone: true, NextCryptoDone: true, CryptoStatus: ndis.CryptoInvalidProtocol}
	if f, s := r.Xfrm(); f != 7 || s != 128 {
		t.Fatalf("Xfrm() = %d, %d; want 7, 128", f, s)
	}
	if f, s := (RxInfo{}).Xfrm(); f != 0 || s != 1 {
		t.Fatalf("zero Xfrm() = %d, %d; want 0, 1 (CRYPTO_SUCCESS)", f, s)
	}
}

func TestRxFromWordsRejects(t *testing.T) {
	cases := []struct {
		word, header uint32
		msg          string
	}{
		{0x00000008, 0, "packet: invalid receive OOB information: receive word 0x00000008 has reserved bits 0x00000008 set"},
		{0x0003FFF8, 0, "packet: invalid receive OOB information: receive word 0x0003FFF8 has reserved bits 0x0000FFF8 set"},
		{0x00000002, 0x00020000, "packet: invalid receive OOB information: header word 0x00020000 has reserved bits 0x00020000 set"},
		{0, 0xFFFE0000, "packet: invalid receive OOB information: header word 0xFFFE0000 has reserved bits 0xFFFE0000 set"},
		{0x00080002, 0, "packet: invalid receive OOB information: unknown CryptoStatus 8 in word 0x00080002"},
		{0xFFFF0000, 0, "packet: invalid receive OOB information: unknown CryptoStatus 65535 in word 0xFFFF0000"},
	}
	for _, c := range cases {
		r, err := RxInfoFromWords(c.word, c.header)
		if err == nil || err.Error() != c.msg || !errors.Is(err, ErrRxInfo) || r != (RxInfo{}) {
			t.Errorf("RxInfoFromWords(0x%08X, 0x%08X) = %v, %v; want %q", c.word, c.header, r, err, c.msg)
		}
	}
}

func TestRxFromXfrmRejects(t *testing.T) {
	cases := []struct {
		flags, status uint32
		msg           string
	}{
		{8, 1, "packet: invalid receive OOB information: xfrm flags 0x8 have unknown bits 0x8"},
		{0x12, 1, "packet: invalid receive OOB information: xfrm flags 0x12 have unknown bits 0x10"},
		{2, 0, "packet: invalid receive OOB information: xfrm status 0x0 is not one known CRYPTO_* bit"},
		{2, 3, "packet: invalid receive OOB information: xfrm status 0x3 is not one known CRYPTO_* bit"},
		{2, 256, "packet: invalid receive OOB information: xfrm status 0x100 is not one known CRYPTO_* bit"},
	}
	for _, c := range cases {
		r, err := RxInfoFromXfrm(c.flags, c.status)
		if err == nil || err.Error() != c.msg || !errors.Is(err, ErrRxInfo) || r != (RxInfo{}) {
			t.Errorf("RxInfoFromXfrm(0x%X, 0x%X) = %v, %v; want %q", c.flags, c.status, r, err, c.msg)
		}
	}
}

// R-RX-4, R-RX-6.
func TestRxConsistent(t *testing.T) {
	const pfx = "packet: invalid receive OOB information: "
	cases := []struct {
		rx  RxInfo
		msg string // "" = consistent
	}{
		{RxInfo{}, ""}, // not processed (R-RX-1, R-RX-2, R-RX-3)
		{RxInfo{SaDeleteReq: true}, ""},
		{RxInfo{CryptoDone: true}, ""},
		{RxInfo{CryptoDone: true, CryptoStatus: ndis.CryptoTransportESPAuthFailed}, ""},
		{RxInfo{CryptoDone: true, NextCryptoDone: true, HeaderInfoSet: true, NextHeader: 6}, ""},
		{RxInfo{CryptoDone: true, NextCryptoDone: true, CryptoStatus: ndis.CryptoTunnelESPAuthFailed}, ""},
		{RxInfo{NextCryptoDone: true}, pfx + "NextCryptoDone without CryptoDone"},
		{RxInfo{CryptoStatus: ndis.CryptoGenericError}, pfx + "status CRYPTO_GENERIC_ERROR without CryptoDone"},
		{RxInfo{HeaderInfoSet: true}, pfx + "HeaderInfoSet without CryptoDone"},
		{RxInfo{CryptoDone: true, HeaderInfoSet: true, CryptoStatus: ndis.CryptoInvalidPacketSyntax},
			pfx + "HeaderInfoSet with status CRYPTO_INVALID_PACKET_SYNTAX"},
	}
	for _, c := range cases {
		err := c.rx.Consistent()
		switch {
		case c.msg == "" && err != nil:
			t.Errorf("%v: %v, want consistent", c.rx, err)
		case c.msg != "" && (err == nil || err.Error() != c.msg || !errors.Is(err, ErrRxInfo)):
			t.Errorf("%v: %v, want %q", c.rx, err, c.msg)
		}
	}
}

func TestRxString(t *testing.T) {
	cases := []struct {
		rx   RxInfo
		want string
	}{
		{RxInfo{}, "status=CRYPTO_SUCCESS(0)"},
		{RxInfo{CryptoDone: true, NextCryptoDone: true, CryptoStatus: ndis.CryptoTunnelESPAuthFailed},
			"CryptoDone NextCryptoDone status=CRYPTO_TUNNEL_ESP_AUTH_FAILED(5)"},
		{RxInfo{SaDeleteReq: true, CryptoDone: true, HeaderInfoSet: true, NextHeader: 4, PadLength: 2, Handle: 0x2a, SeqHi: 1},
			"SaDeleteReq CryptoDone status=CRYPTO_SUCCESS(0) nh=4 pad=2 handle=0x2a seqhi=1"},
		{RxInfo{CryptoStatus: 9}, "status=CryptoStatus(9)"},
	}
	for _, c := range cases {
		if got := c.rx.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}
