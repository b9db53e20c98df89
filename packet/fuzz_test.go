package packet

import "testing"

// The fuzz targets cover every function that parses a word from outside (a trace, a peer,
// a test vector). Seeds are in testdata/fuzz/<name>/.

// R-RX-4: any accepted pair of receive words packs back to itself, and any word with
// reserved bits or an unknown status is refused.
func FuzzRxInfoFromWords(f *testing.F) {
	f.Add(uint32(0x00030003), uint32(0))
	f.Add(uint32(0x00000002), uint32(0x00010204))
	f.Fuzz(func(t *testing.T, word, header uint32) {
		r, err := RxInfoFromWords(word, header)
		valid := word&0xFFF8 == 0 && word>>16 <= 7 && header>>17 == 0
		if (err == nil) != valid {
			t.Fatalf("RxInfoFromWords(0x%08X, 0x%08X): err %v, want valid=%v", word, header, err, valid)
		}
		if err != nil {
			return
		}
		if r.Word() != word || r.HeaderWord() != header {
			t.Fatalf("0x%08X 0x%08X -> %v -> 0x%08X 0x%08X", word, header, r, r.Word(), r.HeaderWord())
		}
		// The xfrm form carries the flags and status without loss.
		flags, status := r.Xfrm()
		x, err := RxInfoFromXfrm(flags, status)
		if err != nil || x.Word() != word {
			t.Fatalf("xfrm form of %v: %v, %v", r, x, err)
		}
		_ = r.Consistent() // must not panic on any accepted input
		_ = r.String()
	})
}

// R-RX-4: the xfrm form is accepted exactly for the three flags and one status bit, and
// round-trips.
func FuzzRxInfoFromXfrm(f *testing.F) {
	f.Add(uint32(3), uint32(1<<3))
	f.Add(uint32(6), uint32(1<<5))
	f.Fuzz(func(t *testing.T, flags, status uint32) {
		r, err := RxInfoFromXfrm(flags, status)
		valid := flags&^7 == 0 && status != 0 && status&(status-1) == 0 && status <= 128
		if (err == nil) != valid {
			t.Fatalf("RxInfoFromXfrm(0x%X, 0x%X): err %v, want valid=%v", flags, status, err, valid)
		}
		if err != nil {
			return
		}
		if f2, s2 := r.Xfrm(); f2 != flags || s2 != status {
			t.Fatalf("0x%X 0x%X -> %v -> 0x%X 0x%X", flags, status, r, f2, s2)
		}
		if _, err := RxInfoFromWords(r.Word(), r.HeaderWord()); err != nil {
			t.Fatalf("NDIS form of %v refused: %v", r, err)
		}
	})
}

// R-TX-4, R-TX-6: the header word always round-trips; an accepted LSO word round-trips
// and yields a TxInfo that Validate accepts.
func FuzzTxInfoWords(f *testing.F) {
	f.Add(uint32(0x05000306), uint32(0x436005B4))
	f.Add(uint32(0), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, header, lso uint32) {
		tx := TxInfoFromHeaderWord(header)
		if tx.HeaderWord() != header {
			t.Fatalf("header 0x%08X -> %+v -> 0x%08X", header, tx, tx.HeaderWord())
		}
		err := tx.SetLSOWord(lso)
		valid := lso>>31 == 0 && (lso&MaxMSS != 0) == (lso&(1<<30) != 0)
		if (err == nil) != valid {
			t.Fatalf("SetLSOWord(0x%08X): err %v, want valid=%v", lso, err, valid)
		}
		if err != nil {
			if tx.MSS != 0 || tx.TcpHeaderOffset != 0 {
				t.Fatalf("SetLSOWord(0x%08X) changed the TxInfo on error", lso)
			}
			return
		}
		if tx.LSOWord() != lso || tx.HeaderWord() != header {
			t.Fatalf("0x%08X 0x%08X -> %+v -> 0x%08X 0x%08X", header, lso, tx, tx.HeaderWord(), tx.LSOWord())
		}
		if err := tx.Validate(); err != nil {
			t.Fatalf("%+v from words: %v", tx, err)
		}
	})
}
