// Package fault damages ESP packets on their way from a send path to a receive path, the
// faults a receive path must survive and report (SPEC section 5): a corrupted ICV or
// ciphertext, a truncated packet, a wrong SPI or destination, IPv4 options the NIC may not
// advertise, a replayed packet, and a packet delayed beyond the anti-replay window. Tests
// and the benchmark use it; each function works on a frame that starts at the IP header and
// returns the damaged frame (in place where the length does not change).
//
// Faults that need the NIC (an SA deleted while its packets are in flight) are actions on
// the NIC, not on packets, and live with the tests that do them.
package fault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/ov2dev/ov2/internal/inet"
)

// Kind names a packet fault.
type Kind uint8

// Packet faults.
const (
	None              Kind = iota
	CorruptICV             // flip a bit in the last byte (the ICV)
	CorruptCiphertext      // flip a bit in the first byte after the IV
	Truncate               // drop the last 4 bytes (part of the ICV) and fix the IP length
	TruncateHeader         // cut the packet inside the ESP header (6 bytes of it left), IP length fixed
	WrongSPI               // add 1 to the SPI
	WrongDestination       // add 1 to the last byte of the destination address (IPv4 checksum fixed)
	IPv4Options            // insert 4 bytes of IPv4 options (NOPs and an end marker) before the payload
	NumKinds
)

var names = [NumKinds]string{"none", "corrupt-icv", "corrupt-ciphertext", "truncate", "truncate-header",
	"wrong-spi", "wrong-destination", "ipv4-options"}

func (k Kind) String() string {
	if k < NumKinds {
		return names[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ErrNotESP is returned for a frame that is not an IPv4/IPv6 ESP packet (UDP-encapsulated
// included) the faults know how to damage.
var ErrNotESP = errors.New("fault: not an ESP packet")

// espOffset finds the ESP header: after the IPv4 header (with options) or the IPv6 fixed
// header, and after UDP for NAT-T.
func espOffset(f []byte) (int, error) {
	if len(f) < 20 {
		return 0, ErrNotESP
	}
	var off int
	var proto byte
	switch f[0] >> 4 {
	case 4:
		off, proto = int(f[0]&0xf)*4, f[9]
	case 6:
		if len(f) < 40 {
			return 0, ErrNotESP
		}
		off, proto = 40, f[6]
	default:
		return 0, ErrNotESP
	}
	if proto == 17 {
		off += 8
	} else if proto != 50 {
		return 0, ErrNotESP
	}
	if off+16 > len(f) {
		return 0, ErrNotESP
	}
	return off, nil
}

// Apply damages one frame. The frame must have capacity for 4 more bytes (IPv4Options).
func Apply(k Kind, f []byte) ([]byte, error) {
	esp, err := espOffset(f)
	if err != nil {
		return f, err
	}
	switch k {
	case None:
	case CorruptICV:
		f[len(f)-1] ^= 0x01
	case CorruptCiphertext:
		f[esp+16] ^= 0x80
	case Truncate:
		f = setLen(f, len(f)-4)
	case TruncateHeader:
		f = setLen(f, esp+6)
	case WrongSPI:
		binary.BigEndian.PutUint32(f[esp:], binary.BigEndian.Uint32(f[esp:])+1)
	case WrongDestination:
		if f[0]>>4 == 4 {
			f[19]++
			ipv4Checksum(f)
		} else {
			f[39]++
		}
	case IPv4Options:
		if f[0]>>4 != 4 || f[0]&0xf != 5 {
			return f, fmt.Errorf("%w: IPv4Options needs an IPv4 header without options", ErrNotESP)
		}
		f = append(f[:20], append([]byte{1, 1, 1, 0}, f[20:]...)...)
		f[0] = 0x46
		f = setLen(f, len(f))
	default:
		return f, fmt.Errorf("fault: unknown kind %d", k)
	}
	return f, nil
}

// setLen cuts or keeps the frame at n bytes and rewrites the IP length fields (and, for
// UDP encapsulation, the UDP length) to match.
func setLen(f []byte, n int) []byte {
	f = f[:n]
	switch f[0] >> 4 {
	case 4:
		binary.BigEndian.PutUint16(f[2:], uint16(n))
		hl := int(f[0]&0xf) * 4
		if f[9] == 17 && n >= hl+8 {
			binary.BigEndian.PutUint16(f[hl+4:], uint16(n-hl))
		}
		ipv4Checksum(f)
	case 6:
		binary.BigEndian.PutUint16(f[4:], uint16(n-40))
		if f[6] == 17 && n >= 48 {
			binary.BigEndian.PutUint16(f[44:], uint16(n-40))
		}
	}
	return f
}

func ipv4Checksum(f []byte) { inet.IPv4(f).SetChecksum() }
