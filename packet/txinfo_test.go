package packet

import (
	"errors"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

// R-TX-4, R-TX-6: the header info word as NDIS lays it out.
func TestTxHeaderWord(t *testing.T) {
	cases := []struct {
		tx   TxInfo
		word uint32
	}{
		{TxInfo{}, 0x00000000},
		{TxInfo{NextHeader: 6, PadLength: 3, EspHeaderOffset: 5}, 0x05000306},
		{TxInfo{NextHeader: 4, PadLength: 0, AhHeaderOffset: 5, EspHeaderOffset: 11}, 0x0B050004},
		{TxInfo{NextHeader: 41, PadLength: 255, AhHeaderOffset: 0, EspHeaderOffset: 10}, 0x0A00FF29},
		{TxInfo{NextHeader: 0xFF, PadLength: 0xFF, AhHeaderOffset: 0xFF, EspHeaderOffset: 0xFF}, 0xFFFFFFFF},
	}
	for _, c := range cases {
		if got := c.tx.HeaderWord(); got != c.word {
			t.Errorf("%+v.HeaderWord() = 0x%08X, want 0x%08X", c.tx, got, c.word)
		}
		if got := TxInfoFromHeaderWord(c.word); got != c.tx {
			t.Errorf("TxInfoFromHeaderWord(0x%08X) = %+v, want %+v", c.word, got, c.tx)
		}
	}
}

// R-TX-6: the LsoV2Transmit word.
func TestTxLSOWord(t *testing.T) {
	cases := []struct {
		mss  uint32
		off  uint16
		word uint32
	}{
		{0, 0, 0x00000000},
		{1460, 54, 0x436005B4}, // 1<<30 | 54<<20 | 1460
		{1, 0, 0x40000001},
		{MaxMSS, MaxTCPHeaderOffset, 0x7FFFFFFF},
		{0, 34, 0x02200000}, // offset without LSO: Type stays 0
	}
	for _, c := range cases {
		tx := TxInfo{MSS: c.mss, TcpHeaderOffset: c.off}
		if got := tx.LSOWord(); got != c.word {
			t.Errorf("MSS %d off %d: LSOWord() = 0x%08X, want 0x%08X", c.mss, c.off, got, c.word)
		}
		var back TxInfo
		if err := back.SetLSOWord(c.word); err != nil {
			t.Errorf("SetLSOWord(0x%08X): %v", c.word, err)
		}
		if back.MSS != c.mss || back.TcpHeaderOffset != c.off {
			t.Errorf("SetLSOWord(0x%08X) gave MSS %d off %d, want %d %d", c.word, back.MSS, back.TcpHeaderOffset, c.mss, c.off)
		}
	}
}

func TestTxSetLSOWordRejects(t *testing.T) {
	cases := []struct {
		word uint32
		msg  string
	}{
		{0x80000000, "packet: invalid send OOB information: LSO word 0x80000000 has reserved bit 31 set"},
		{0xC00005B4, "packet: invalid send OOB information: LSO word 0xC00005B4 has reserved bit 31 set"},
		{0x000005B4, "packet: invalid send OOB information: LSO word 0x000005B4 asks for LSO V1; only V2 is supported"},
		{0x40000000, "packet: invalid send OOB information: LSO word 0x40000000 is LSO V2 with MSS 0"},
	}
	for _, c := range cases {
		tx := TxInfo{MSS: 9, TcpHeaderOffset: 8}
		err := tx.SetLSOWord(c.word)
		if !errors.Is(err, ErrTxInfo) || err.Error() != c.msg {
			t.Errorf("SetLSOWord(0x%08X) = %v, want %q", c.word, err, c.msg)
		}
		if tx.MSS != 9 || tx.TcpHeaderOffset != 8 {
			t.Errorf("SetLSOWord(0x%08X) changed the TxInfo on error", c.word)
		}
	}
}

// R-TX-2, R-TX-5, R-TX-6.
func TestTxValidate(t *testing.T) {
	cases := []struct {
		tx  TxInfo
		msg string // "" = valid
	}{
		{TxInfo{}, ""},
		{TxInfo{OffloadHandle: 1}, ""},
		{TxInfo{OffloadHandle: 1, TunnelHandle: 2}, ""},
		{TxInfo{MSS: MaxMSS, TcpHeaderOffset: MaxTCPHeaderOffset}, ""},
		{TxInfo{MSS: 1 << 20}, "packet: invalid send OOB information: MSS 1048576 does not fit in 20 bits (max 1048575)"},
		{TxInfo{TcpHeaderOffset: 1 << 10}, "packet: invalid send OOB information: TcpHeaderOffset 1024 does not fit in 10 bits (max 1023)"},
		{TxInfo{TunnelHandle: 0x2A}, "packet: invalid send OOB information: TunnelHandle 0x2A set without an OffloadHandle"},
	}
	for _, c := range cases {
		err := c.tx.Validate()
		switch {
		case c.msg == "" && err != nil:
			t.Errorf("%+v: %v, want valid", c.tx, err)
		case c.msg != "" && (err == nil || err.Error() != c.msg || !errors.Is(err, ErrTxInfo)):
			t.Errorf("%+v: %v, want %q", c.tx, err, c.msg)
		}
	}
}

// R-TX-3: a failed send carries NDIS_STATUS_FAILURE and a counted reason.
func TestTxFail(t *testing.T) {
	var tx TxInfo
	if tx.Failed() {
		t.Fatal("zero TxInfo reports failure")
	}
	tx.Fail(ReasonUnknownHandle)
	if tx.Status != ndis.StatusFailure || tx.Reason != ReasonUnknownHandle || !tx.Failed() {
		t.Fatalf("after Fail: %+v", tx)
	}
	if tx.Status != 0xC0000001 {
		t.Fatalf("status 0x%08X, want 0xC0000001", uint32(tx.Status))
	}
}

func TestReasonString(t *testing.T) {
	want := []string{"none", "unknown-handle", "seq-exhausted", "malformed", "offload-disabled",
		"unsupported", "no-headroom", "no-tailroom", "crypto", "resources"}
	if len(want) != int(NumReasons) {
		t.Fatalf("%d names for %d reasons", len(want), NumReasons)
	}
	for i, w := range want {
		if got := Reason(i).String(); got != w {
			t.Errorf("Reason(%d) = %q, want %q", i, got, w)
		}
	}
	if got := NumReasons.String(); got != "Reason(10)" {
		t.Errorf("NumReasons.String() = %q, want Reason(10)", got)
	}
}
