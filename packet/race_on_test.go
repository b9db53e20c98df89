//go:build race

package packet

// raceEnabled is true under -race, where sync.Pool deliberately drops a share of Puts to
// shake out misuse, so allocation counts are not meaningful.
const raceEnabled = true
