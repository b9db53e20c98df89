// Package counts formats the per-reason counters that the replay and gateway reports print.
package counts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Sum adds up the counts of m.
func Sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// Reasons formats counts by reason, largest first (ties by name), as " (a 3, b 1)"; ""
// when m is empty.
func Reasons(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return 0
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
