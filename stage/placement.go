package stage

import "fmt"

// Placement says how a lane's stages are spread over goroutines.
type Placement uint8

// Placements.
const (
	// Fused runs all of a lane's stages on one goroutine, burst by burst
	// (run-to-completion).
	Fused Placement = iota
	// Split runs classify+lookup, LSO, and seal+complete on three goroutines per lane,
	// joined by SPSC rings.
	Split
)

func (p Placement) String() string {
	switch p {
	case Fused:
		return "fused"
	case Split:
		return "split"
	}
	return fmt.Sprintf("Placement(%d)", uint8(p))
}

// ParsePlacement reads "fused" or "split".
func ParsePlacement(s string) (Placement, error) {
	switch s {
	case "fused":
		return Fused, nil
	case "split":
		return Split, nil
	}
	return 0, fmt.Errorf("stage: placement %q: want fused or split", s)
}
