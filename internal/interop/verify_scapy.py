#!/usr/bin/python3
"""Verify ESP packets with scapy's IPsec layer (ov2 internal/interop).

Usage: verify_scapy.py SAS.json CAPTURE.pcap [--window N]

The SA file is described in verify_pyca.py. Each ESP packet is authenticated and decrypted
by scapy.layers.ipsec: the SA's CryptAlgo recovers payload, pad length and next header, and
SecurityAssociation.decrypt decapsulates the packet, whose result must carry the same inner
bytes. One JSON object per packet on its own line, with the same keys as verify_pyca.py.
Exit 0 whatever the verdicts, 2 on a usage error.
"""
import ipaddress
import json
import struct
import sys

from scapy_common import ESP, UDP, IPSecIntegrityError, UsageError, load_sas, network_layer
from scapy.packet import Raw
from scapy.utils import rdpcap


def verify(index, frame, sas, window):
    res = {"index": index, "spi": 0, "seq": 0, "ok": False, "skipped": False, "reason": "",
           "next_header": 0, "pad_len": 0, "inner": "", "iv_is_seq": False}
    l3 = network_layer(frame)
    if l3 is None:
        res["reason"] = "malformed: no IP header"
        return res
    udp = UDP in l3
    if udp:
        payload = bytes(l3[UDP].payload)
        if payload == b"\xff" or payload[:4] == b"\x00\x00\x00\x00" or ESP not in l3:
            res["skipped"], res["reason"] = True, "not ESP"
            return res
    elif ESP not in l3:
        res["skipped"], res["reason"] = True, "not ESP"
        return res
    esp = l3[ESP]
    res["spi"], res["seq"] = esp.spi, esp.seq
    dst = ipaddress.ip_address(l3.dst)
    sa = next((s for s in sas if s.spi == esp.spi and (s.dst is None or s.dst == dst)), None)
    if sa is None:
        res["reason"] = "no SA for SPI 0x%08x and destination %s" % (esp.spi, dst)
        return res
    if sa.natt != udp:
        res["reason"] = "UDP encapsulation differs from the SA's"
        return res
    data = esp.data or b""
    if len(data) < 8 + 2 + sa.icv:
        res["reason"] = "ESP packet too short"
        return res
    hi = sa.infer_hi(esp.seq, window)
    seq64 = (hi << 32) | esp.seq
    res["seq"] = seq64
    res["iv_is_seq"] = data[:8] == struct.pack("!Q", seq64)

    ssa = sa.scapy_sa()
    # scapy quirk: SecurityAssociation uses `esn or self.esn`, so an explicit high half of 0
    # would fall back to the SA's; set the SA's own value to this packet's high half.
    ssa.esn = hi
    try:
        plain = ssa.crypt_algo.decrypt(ssa, esp, ssa.crypt_key, sa.icv, esn_en=sa.esn, esn=hi)
    except IPSecIntegrityError:
        res["reason"] = "ICV mismatch"
        return res
    sa.accept(seq64)
    inner = bytes(plain.data)
    res["next_header"], res["pad_len"], res["inner"] = int(plain.nh), int(plain.padlen), inner.hex()

    problems = []
    outer = l3.copy()
    try:
        dec = ssa.decrypt(outer, verify=True, esn_en=sa.esn, esn=hi)
    except Exception as e:  # noqa: BLE001 - any scapy failure is a verdict here
        problems.append("scapy SecurityAssociation.decrypt failed: %s" % e)
        dec = None
    if dec is not None:
        if sa.tunnel:
            got = bytes(dec)
        elif sa.natt and l3.version == 6:
            # scapy 2.5 quirk: decapsulating UDP-encapsulated IPv6 transport keeps the UDP
            # header and parses the payload as ESP again; take the bytes after it.
            got = bytes(dec[UDP].payload)
        else:
            got = bytes(dec.payload)
        if got != inner:
            problems.append("SecurityAssociation.decrypt gave %d inner bytes that differ" % len(got))
    if not res["iv_is_seq"]:
        note = "IV %s is not the sequence number %016x" % (data[:8].hex(), seq64)
    else:
        note = ""
    res["ok"] = not problems
    res["reason"] = "; ".join(problems + ([note] if note else []))
    return res


def main(argv):
    args = argv[1:]
    window = 1024
    if "--window" in args:
        i = args.index("--window")
        try:
            window = int(args[i + 1])
        except (IndexError, ValueError):
            raise UsageError("--window wants a positive number")
        del args[i:i + 2]
    if len(args) != 2 or window < 1:
        raise UsageError("usage: verify_scapy.py SAS.json CAPTURE.pcap [--window N]")
    sas = load_sas(args[0])
    for i, frame in enumerate(rdpcap(args[1])):
        sys.stdout.write(json.dumps(verify(i, frame, sas, window)) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (UsageError, OSError, json.JSONDecodeError) as e:
        sys.stderr.write("verify_scapy.py: %s\n" % e)
        sys.exit(2)
