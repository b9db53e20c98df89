package esp

import "testing"

func TestAlgorithmEncrypts(t *testing.T) {
	for a, want := range map[Algorithm]bool{AESGCM: true, AESCBC: true, AESGMAC: false, NULL: false, Algorithm(99): false} {
		if a.Encrypts() != want {
			t.Errorf("%v.Encrypts() = %v, want %v", a, !want, want)
		}
	}
}
