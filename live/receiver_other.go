//go:build !linux

package live

import (
	"fmt"
	"runtime"
	"time"
)

// Packet types (sll_pkttype).
const (
	PacketHost      = 0
	PacketBroadcast = 1
	PacketMulticast = 2
	PacketOtherHost = 3
	PacketOutgoing  = 4
)

// RecvOptions configure OpenReceiver.
type RecvOptions struct {
	BlockSize, Blocks int
	Timeout           time.Duration
	Promisc           bool
	IgnoreOutgoing    bool
	Immediate         bool
	FrameSize         int
}

// Frame is one received frame.
type Frame struct {
	Data              []byte
	Len               int
	Status            uint32
	VLANTCI, VLANTPID uint16
	PktType           uint8
	Stamp             int64
}

// RecvStats count what a Receiver has done.
type RecvStats struct {
	Packets, Bytes, Blocks, Truncated, Outgoing uint64
	KernelPackets, KernelDrops, KernelFreezes   uint64
}

// Receiver receives frames from one interface (Linux only).
type Receiver struct{}

// FanoutMode is how the kernel picks the member of a fanout group that gets a frame.
type FanoutMode uint16

// Fanout modes.
const (
	FanoutHash    FanoutMode = 0
	FanoutCPU     FanoutMode = 2
	FanoutProgram FanoutMode = 6
)

// FanoutOptions configure OpenFanout.
type FanoutOptions struct{ Mode FanoutMode }

func notLinux(iface string) error {
	return fmt.Errorf("live: interface %q: receiving from a live interface needs Linux (AF_PACKET), not %s", iface, runtime.GOOS)
}

// OpenReceiver returns an error: AF_PACKET sockets exist only on Linux.
func OpenReceiver(iface string, o RecvOptions) (*Receiver, error) { return nil, notLinux(iface) }

// OpenFanout returns an error: AF_PACKET sockets exist only on Linux.
func OpenFanout(iface string, n int, f FanoutOptions, o RecvOptions) ([]*Receiver, error) {
	return nil, notLinux(iface)
}

func (r *Receiver) Name() string                                   { return "" }
func (r *Receiver) Index() int                                     { return 0 }
func (r *Receiver) MTU() int                                       { return 0 }
func (r *Receiver) Fd() int                                        { return -1 }
func (r *Receiver) Ready() bool                                    { return false }
func (r *Receiver) Recv(dst []Frame, t time.Duration) (int, error) { return 0, notLinux("") }
func (r *Receiver) Release()                                       {}
func (r *Receiver) Wait(t time.Duration) error                     { return notLinux("") }
func (r *Receiver) Stats() RecvStats                               { return RecvStats{} }
func (r *Receiver) Close() error                                   { return nil }
func (r *Receiver) ClearError() error                              { return notLinux("") }
func (r *Receiver) Link() (LinkState, int)                         { return LinkGone, 0 }
func (r *Receiver) MaxMTU() int                                    { return 0 }

// LinkState is where a receiver's interface stands (Receiver.Link).
type LinkState int

// The link states.
const (
	LinkUp LinkState = iota
	LinkDown
	LinkGone
)
