//go:build !linux

package live

import (
	"errors"
	"fmt"
	"net"
	"runtime"
)

// MaxBatch is the most frames Send hands to the kernel in one call.
const MaxBatch = 1024

// Options configure Open.
type Options struct {
	QdiscBypass bool
	SndBuf      int
}

// Stats count what a Sender has done since Open.
type Stats struct {
	Packets, Bytes uint64
	Batches        uint64
	Waits          uint64
}

// ErrNoCarrier is wrapped by errors for an interface without carrier.
var ErrNoCarrier = errors.New("no carrier")

// Sender sends Ethernet frames out one interface (Linux only).
type Sender struct{}

// Open returns an error: AF_PACKET sockets exist only on Linux.
func Open(iface string, o Options) (*Sender, error) {
	return nil, fmt.Errorf("live: interface %q: sending on a live interface needs Linux (AF_PACKET), not %s", iface, runtime.GOOS)
}

func (s *Sender) Name() string { return "" }

// TooLong reports whether err refused a frame for its length; never here.
func TooLong(err error) bool                     { return false }
func (s *Sender) MTU() int                       { return 0 }
func (s *Sender) HardwareAddr() net.HardwareAddr { return nil }
func (s *Sender) Send(frames [][]byte) (int, error) {
	return 0, errors.New("live: not supported on " + runtime.GOOS)
}
func (s *Sender) Stats() Stats { return Stats{} }
func (s *Sender) Close() error { return nil }
