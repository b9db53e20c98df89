package counts

import "testing"

func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]uint64
		want string
	}{
		{nil, ""},
		{map[string]uint64{"b": 1, "a": 3}, " (a 3, b 1)"},
		{map[string]uint64{"z": 2, "a": 2, "m": 5}, " (m 5, a 2, z 2)"},
	} {
		if got := Reasons(tc.m); got != tc.want {
			t.Errorf("Reasons(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
	if got := Sum(map[string]uint64{"a": 3, "b": 4}); got != 7 {
		t.Errorf("Sum = %d, want 7", got)
	}
}
