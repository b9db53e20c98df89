#!/usr/bin/python3
"""Make ESP packets from plain IP packets with scapy (ov2 internal/interop).

Usage: encrypt_scapy.py SA.json START_SEQ PLAIN.pcap OUT.pcap

SA.json holds one SA object (format in verify_pyca.py). Packet i of PLAIN.pcap is protected
with the 64-bit sequence number START_SEQ+i (low half on the wire, high half authenticated
under ESN) and IV = that number, big-endian, so the output is deterministic. OUT.pcap is raw
IP (link type 101). Exit 0 on success, 2 on a usage error.
"""
import json
import struct
import sys

from scapy_common import IP, UDP, UsageError, SAConfig, network_layer, write_raw_pcap
from scapy.layers.inet6 import IPv6
from scapy.utils import rdpcap


def fix_natt(pkt):
    """scapy 2.5 builds the IPv4 NAT-T header before the ESP payload is attached, so its UDP
    length says 8; set it from the real payload. IPv6 gets a real UDP checksum (RFC 8200
    forbids 0 there); IPv4 keeps 0, which RFC 3948 allows."""
    if UDP not in pkt:
        return pkt
    udp = pkt[UDP]
    udp.len = 8 + len(bytes(udp.payload))
    if pkt.version == 6:
        del udp.chksum
        return IPv6(bytes(pkt))
    udp.chksum = 0
    return IP(bytes(pkt))


def main(argv):
    if len(argv) != 5:
        raise UsageError("usage: encrypt_scapy.py SA.json START_SEQ PLAIN.pcap OUT.pcap")
    with open(argv[1]) as f:
        sa = SAConfig(json.load(f))
    try:
        start = int(argv[2], 0)
    except ValueError:
        raise UsageError("START_SEQ %r is not a number" % argv[2])
    ssa = sa.scapy_sa()
    out = []
    for i, frame in enumerate(rdpcap(argv[3])):
        l3 = network_layer(frame)
        if l3 is None:
            raise UsageError("packet %d of %s is not IP" % (i, argv[3]))
        seq64 = start + i
        hi, lo = seq64 >> 32, seq64 & 0xFFFFFFFF
        if seq64 >= 1 << 64 or (hi and not sa.esn):
            raise UsageError("sequence number %#x needs ESN" % seq64)
        # scapy quirk: it takes `seq_num or self.seq_num` and `esn or self.esn`, so explicit
        # zeros are ignored; set the SA's own fields for every packet instead.
        ssa.seq_num = lo
        ssa.esn = hi
        pkt = ssa.encrypt(l3.copy(), iv=struct.pack("!Q", seq64), esn_en=sa.esn)
        if sa.natt:
            pkt = fix_natt(pkt)
        out.append(bytes(pkt))
    write_raw_pcap(argv[4], out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (UsageError, OSError, json.JSONDecodeError) as e:
        sys.stderr.write("encrypt_scapy.py: %s\n" % e)
        sys.exit(2)
