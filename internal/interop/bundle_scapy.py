#!/usr/bin/python3
"""Check and make ESP+AH bundles (AH over ESP) with scapy 2.5 (ov2 internal/interop).

Usage:
  bundle_scapy.py verify BUNDLE.json IN.pcap
      One JSON line per packet, as suites_scapy.py verify writes them: the AH part is checked
      here, the ESP part (with AH taken out) by suites_scapy.verify_one, whose result it is
      (next_header, pad_len and inner are ESP's).
  bundle_scapy.py encrypt BUNDLE.json ESP_START AH_START PLAIN.pcap OUT.pcap
      Protect every plain IP packet with ESP (sequence number ESP_START+i) and then AH over
      the result (AH_START+i), in transport mode over the packet's own IP header.

BUNDLE.json: {"esp": SA, "ah": SA}, each an SA as suites_scapy.py takes it.

What scapy 2.5 does not do: AuthAlgo.sign and verify look for an ESP layer before an AH layer,
so an AH packet whose payload is ESP is signed and checked as if it were ESP. The AH ICV is
therefore computed here over scapy's own zero_mutable_fields() image of the datagram (IPv4
mutable fields and options, IPv6 extension headers handled by scapy), the ICV field zeroed, the
ESN high half appended (RFC 4302 section 3.3.3.2.2): HMAC truncated to the ICV length with
Python's hmac, or AES-GMAC with suites_scapy.gmac_tag. ESP is scapy's own (SecurityAssociation),
with suites_scapy.py's workaround for HMAC with ESN.
Exit 0 on success (failed packets are results, not errors), 2 on a usage error.
"""
import hmac
import json
import struct
import sys

import suites_scapy as ss  # noqa: E402  (written next to this script)
from scapy.layers.inet import IP  # noqa: E402
from scapy.layers.ipsec import AH, split_for_transport, zero_mutable_fields  # noqa: E402


class Bundle:
    def __init__(self, d):
        try:
            self.esp, self.ah = ss.SA(d["esp"]), ss.SA(d["ah"])
        except KeyError as e:
            raise ss.UsageError("bundle needs esp and ah: %s" % e)
        if self.esp.proto != "esp" or self.ah.proto != "ah":
            raise ss.UsageError("bundle: esp must be ESP and ah AH")


def ah_icv(sa, pkt, sending):
    """The AH ICV of an AH packet (any payload, ESP included)."""
    if sa.auth == "gmac":
        return ss.gmac_tag(sa, pkt, sending)
    img = bytes(zero_mutable_fields(pkt.copy(), sending=sending))
    data = img + (struct.pack("!I", sa.seq_hi) if sa.esn else b"")
    return hmac.new(sa.auth_key, data, ss.AUTH[sa.auth][1]).digest()[:sa.icv_len()]


def icv_at(sa, off):
    """Where the ICV starts: after the fixed 12 bytes, and the 8-byte IV of AES-GMAC."""
    return off + 12 + (8 if sa.auth == "gmac" else 0)


def without_ah(data, off, ahlen):
    """The datagram with the AH header taken out, its IP header pointing at what AH carried."""
    raw = bytearray(data[:off] + data[off + ahlen:])
    nh = data[off]
    if raw[0] >> 4 == 4:
        if off != (raw[0] & 15) * 4:
            raise ss.UsageError("AH not right after the IPv4 header")
        raw[9] = nh
        struct.pack_into("!H", raw, 2, len(raw))
        struct.pack_into("!H", raw, 10, 0)
        hl = (raw[0] & 15) * 4
        s = sum(struct.unpack("!%dH" % (hl // 2), bytes(raw[:hl])))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        struct.pack_into("!H", raw, 10, ~s & 0xFFFF)
    else:
        if off != 40:
            raise ss.UsageError("AH not right after the IPv6 header")
        raw[6] = nh
        struct.pack_into("!H", raw, 4, len(raw) - 40)
    return bytes(raw)


def verify_one(i, data, b):
    r = {"index": i, "spi": 0, "seq": 0, "ok": False, "skipped": False, "reason": "",
         "next_header": 0, "pad_len": 0, "inner": "", "iv_is_seq": False}
    pkt = ss.ip_layer(data)
    if AH not in pkt:
        r["skipped"], r["reason"] = True, "no AH"
        return r
    off = ss.ah_offset(pkt)
    ahlen = (data[off + 1] + 2) * 4
    r["spi"] = pkt[AH].spi
    if pkt[AH].spi != b.ah.spi:
        r["reason"] = "no SA (AH SPI)"
        return r
    if data[off] != 50:
        r["reason"] = "AH next header %d, not ESP" % data[off]
        return r
    at = icv_at(b.ah, off)
    if not hmac.compare_digest(ah_icv(b.ah, pkt, False), data[at:at + b.ah.icv_len()]):
        r["reason"] = "AH ICV mismatch"
        return r
    return ss.verify_one(i, without_ah(data, off, ahlen), [b.esp])


def encrypt_one(b, essa, l3, esp_seq, ah_seq):
    pkt = ss.ip_layer(ss.encrypt_one(b.esp, essa, l3, esp_seq))
    hi, lo = ah_seq >> 32, ah_seq & 0xFFFFFFFF
    b.ah.seq_hi = hi
    hdr, nh, payload = split_for_transport(pkt.copy(), 51)
    iv = struct.pack("!Q", ah_seq) if b.ah.auth == "gmac" else b""
    n = 12 + len(iv) + b.ah.icv_len()
    ah = AH(nh=nh, spi=b.ah.spi, seq=lo, icv=iv + bytes(b.ah.icv_len()))
    pad = (-n) % (8 if hdr.version == 6 else 4)
    if pad:
        ah.padding = bytes(pad)
    ah.payloadlen = (n + pad) // 4 - 2
    if hdr.version == 4:
        hdr.len = len(hdr) + n + pad + len(payload)
        del hdr.chksum
        hdr = IP(bytes(hdr))
    else:
        hdr.plen = len(hdr.payload) + n + pad + len(payload)
    pkt = ss.ip_layer(bytes(hdr / ah / payload))
    raw = bytearray(bytes(pkt))
    off = ss.ah_offset(pkt)
    at = icv_at(b.ah, off)
    raw[at:at + b.ah.icv_len()] = ah_icv(b.ah, pkt, True)
    return bytes(raw)


def main(argv):
    if len(argv) == 4 and argv[1] == "verify":
        with open(argv[2]) as f:
            b = Bundle(json.load(f))
        for i, data in enumerate(ss.read_ip(argv[3])):
            print(json.dumps(verify_one(i, data, b)))
        return 0
    if len(argv) == 7 and argv[1] == "encrypt":
        with open(argv[2]) as f:
            b = Bundle(json.load(f))
        try:
            es, ah = int(argv[3], 0), int(argv[4], 0)
        except ValueError:
            raise ss.UsageError("ESP_START %r or AH_START %r is not a number" % (argv[3], argv[4]))
        essa = b.esp.scapy_sa()
        out = [encrypt_one(b, essa, ss.ip_layer(d), es + i, ah + i) for i, d in enumerate(ss.read_ip(argv[5]))]
        ss.write_raw_pcap(argv[6], out)
        return 0
    raise ss.UsageError(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (ss.UsageError, OSError, json.JSONDecodeError) as e:
        print("bundle_scapy.py: %s" % e, file=sys.stderr)
        sys.exit(2)
