package pcap

import "encoding/binary"

// The pcapng blocks a Writer writes, all little-endian (pcapng 1.0, draft-ietf-opsawg-pcapng):
//
//	section header (40 bytes): type 0x0a0d0d0a, length, byte-order magic 0x1a2b3c4d,
//	    version 1.0, section length -1 (not given), shb_userappl "ov2", end of options,
//	    length
//	interface description (32 bytes): type 1, length, link type, 0, snaplen,
//	    if_tsresol 9 (nanoseconds), end of options, length
//	enhanced packet (32 bytes + the captured bytes padded to 4): type 6, length,
//	    interface id, timestamp (high and low 32 bits of nanoseconds since 1970),
//	    captured length, original length, data, padding, length
const (
	ngOptSHBUserAppl = 4

	ngSHBLen       = 40
	ngIDBLen       = 32
	ngEPBHeaderLen = 28
)

// ngEPBLen is the total length of an enhanced packet block of capLen captured bytes.
func ngEPBLen(capLen int) int { return ngEPBHeaderLen + (capLen+3)&^3 + 4 }

// ngSectionHeader returns the section header block that starts a file.
func ngSectionHeader() []byte {
	b := make([]byte, 0, ngSHBLen)
	b = binary.LittleEndian.AppendUint32(b, ngBlockSHB)
	b = binary.LittleEndian.AppendUint32(b, ngSHBLen)
	b = binary.LittleEndian.AppendUint32(b, ngByteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1) // major
	b = binary.LittleEndian.AppendUint16(b, 0) // minor
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	b = binary.LittleEndian.AppendUint16(b, ngOptSHBUserAppl)
	b = binary.LittleEndian.AppendUint16(b, 3)
	b = append(b, 'o', 'v', '2', 0)
	b = binary.LittleEndian.AppendUint32(b, ngOptEnd)
	return binary.LittleEndian.AppendUint32(b, ngSHBLen)
}
