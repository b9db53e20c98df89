//go:build linux

package live

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// FanoutMode is how the kernel picks the member of a fanout group that gets a frame.
type FanoutMode uint16

// Fanout modes (PACKET_FANOUT_*).
const (
	// FanoutHash sends each flow (the kernel's flow hash: addresses, ports, and for ESP
	// the addresses) to one member, so the frames of a flow keep their order.
	FanoutHash FanoutMode = unix.PACKET_FANOUT_HASH
	// FanoutCPU sends a frame to member (CPU that received it) mod members.
	FanoutCPU FanoutMode = unix.PACKET_FANOUT_CPU
	// FanoutProgram runs a classic BPF program (FanoutOptions.Program) on each frame; its
	// return value, modulo the number of members, is the member. Loads are relative to the
	// network header with SKF_NET_OFF, and SKF_AD_OFF+SKF_AD_PROTOCOL is the EtherType.
	FanoutProgram FanoutMode = unix.PACKET_FANOUT_CBPF
)

// FanoutOptions configure OpenFanout.
type FanoutOptions struct {
	Mode FanoutMode
	// Program is the classic BPF program of FanoutProgram mode (at most 4096 instructions).
	Program []unix.SockFilter
}

// OpenFanout opens n receivers on iface joined in one new PACKET_FANOUT group (an id the
// kernel picks, unique in the namespace), so that the kernel spreads the interface's frames
// over them: member i is the i-th receiver returned. No frame reaches any of them before
// the whole group is assembled (and, in FanoutProgram mode, the program set), so a frame
// never lands on a member the mode would not choose. With o.IgnoreOutgoing the group
// leaves out what this host sends (PACKET_FANOUT_FLAG_IGNORE_OUTGOING where the kernel has
// it, Linux 6.9; Recv skips outgoing frames either way).
func OpenFanout(iface string, n int, f FanoutOptions, o RecvOptions) ([]*Receiver, error) {
	if n < 1 || n > 256 {
		return nil, fmt.Errorf("live: interface %q: fanout of %d receivers: want 1 to 256", iface, n)
	}
	if f.Mode == FanoutProgram && (len(f.Program) == 0 || len(f.Program) > unix.BPF_MAXINSNS) {
		return nil, fmt.Errorf("live: interface %q: fanout program of %d instructions: want 1 to %d", iface, len(f.Program), unix.BPF_MAXINSNS)
	}
	var rs []*Receiver
	closeAll := func() {
		for _, r := range rs {
			r.Close()
		}
	}
	flags := uint32(0)
	if o.IgnoreOutgoing {
		flags |= unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING
	}
	var id uint32
	for i := range n {
		r, err := newReceiver(iface, o, true)
		if err != nil {
			closeAll()
			return nil, err
		}
		rs = append(rs, r)
		if i == 0 {
			id, flags, err = r.createFanout(uint32(f.Mode), flags)
		} else {
			err = r.joinFanout(id | (uint32(f.Mode)|flags)<<16)
		}
		if err != nil {
			closeAll()
			return nil, err
		}
	}
	if f.Mode == FanoutProgram {
		if err := rs[0].SetFanoutProgram(f.Program); err != nil {
			closeAll()
			return nil, err
		}
	}
	for _, r := range rs {
		if err := r.start(); err != nil {
			closeAll()
			return nil, err
		}
	}
	return rs, nil
}

// createFanout makes a group with an id the kernel picks and returns the id and the flags
// the group was made with (without PACKET_FANOUT_FLAG_IGNORE_OUTGOING on a kernel that
// does not know it).
func (r *Receiver) createFanout(mode, flags uint32) (uint32, uint32, error) {
	err := r.joinFanout((mode | flags | unix.PACKET_FANOUT_FLAG_UNIQUEID) << 16)
	if errors.Is(err, unix.EINVAL) && flags&unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING != 0 {
		flags &^= unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING
		err = r.joinFanout((mode | flags | unix.PACKET_FANOUT_FLAG_UNIQUEID) << 16)
	}
	if err != nil {
		return 0, 0, err
	}
	v, err := unix.GetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
	if err != nil {
		return 0, 0, r.errf("getsockopt PACKET_FANOUT: %w", err)
	}
	return uint32(v) & 0xffff, flags, nil
}

func (r *Receiver) joinFanout(arg uint32) error {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(arg)); err != nil {
		return r.errf("PACKET_FANOUT %#x: %w", arg, err)
	}
	return nil
}

// SetFanoutProgram replaces the classic BPF program of the receiver's fanout group
// (FanoutProgram mode). The kernel swaps it atomically: each frame is steered by the old
// program or the new one.
func (r *Receiver) SetFanoutProgram(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return r.errf("fanout program of %d instructions: want 1 to %d", len(prog), unix.BPF_MAXINSNS)
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT_DATA, &fp); err != nil {
		return r.errf("PACKET_FANOUT_DATA (a program of %d instructions): %w", len(prog), err)
	}
	return nil
}
