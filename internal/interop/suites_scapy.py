#!/usr/bin/python3
"""Check and make ESP AES-CBC / NULL (HMAC) and AH packets with scapy (ov2 internal/interop).

Usage:
  suites_scapy.py verify SAS.json IN.pcap
      One JSON line per packet of IN.pcap (raw IP or Ethernet): index, spi, seq, ok, skipped,
      reason, next_header, pad_len (ESP), inner (hex: the transport payload, or the inner
      packet in tunnel mode).
  suites_scapy.py encrypt SA.json START_SEQ PLAIN.pcap OUT.pcap
      Protect every plain IP packet with the SA; packet i gets sequence number START_SEQ+i
      (low half on the wire, high half authenticated under ESN).

SA JSON (one object, or a list for verify):
  proto "esp" | "ah", spi, enc "aes-cbc" | "null" (ESP), enc_key hex,
  auth "hmac-sha1-96" | "hmac-sha256-128" | "gmac" (AH only), auth_key hex (gmac: key||salt),
  esn bool, seq_hi (the ESN high half of every packet), dst ("" = any).

What scapy 2.5 does not do, and what this script does about it:
  * ESP with an HMAC and ESN: scapy leaves the ESN high half out of the ICV (AuthAlgo.sign and
    verify hash only the ESP bytes). verify checks such an ICV with Python's hmac over the ESP
    bytes and the high half (RFC 4303 section 2.2.1) and has scapy decrypt without verifying;
    encrypt lets scapy build the packet and then replaces its ICV the same way.
  * scapy's AuthAlgo.sign tests for an ESP layer before an AH layer, so AH whose payload is
    ESP would be signed as ESP: the packets here carry no ESP under AH.
  * scapy has no AES-GMAC for AH (RFC 4543 section 4): this script computes it with
    cryptography's AESGCM over scapy's zero_mutable_fields() image, the IV (8 bytes after the
    sequence number, nonce = salt || IV) kept in the image and only the tag zeroed, the ESN
    high half appended.
  * scapy takes `seq_num or self.seq_num` and `esn or self.esn`, so zeros are ignored: the
    SA's own fields are set before every packet.
Exit 0 on success (failed packets are results, not errors), 2 on a usage error.
"""
import hashlib
import hmac
import ipaddress
import json
import logging
import struct
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from scapy.layers.inet import IP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import (  # noqa: E402
    AH, ESP, IPSecIntegrityError, SecurityAssociation, split_for_transport,
    zero_mutable_fields)
from scapy.packet import Raw  # noqa: E402
from scapy.utils import rdpcap  # noqa: E402


class UsageError(Exception):
    pass


AUTH = {"hmac-sha1-96": ("HMAC-SHA1-96", hashlib.sha1, 12),
        "hmac-sha256-128": ("SHA2-256-128", hashlib.sha256, 16)}
ENC = {"aes-cbc": "AES-CBC", "null": "NULL"}


class SA:
    def __init__(self, d):
        try:
            self.proto = d["proto"]
            self.spi = int(d["spi"])
            self.enc = d.get("enc", "")
            self.enc_key = bytes.fromhex(d.get("enc_key", ""))
            self.auth = d["auth"]
            self.auth_key = bytes.fromhex(d["auth_key"])
            self.esn = bool(d.get("esn", False))
            self.seq_hi = int(d.get("seq_hi", 0))
            self.dst = ipaddress.ip_address(d["dst"]) if d.get("dst") else None
        except (KeyError, ValueError) as e:
            raise UsageError("bad SA %r: %s" % (d, e))
        if self.proto not in ("esp", "ah"):
            raise UsageError("proto %r" % self.proto)
        if self.proto == "esp" and (self.enc not in ENC or self.auth not in AUTH):
            raise UsageError("ESP needs enc aes-cbc|null and an HMAC, got %r %r" % (self.enc, self.auth))
        if self.proto == "ah" and self.auth not in AUTH and self.auth != "gmac":
            raise UsageError("AH auth %r" % self.auth)

    def icv_len(self):
        return 16 if self.auth == "gmac" else AUTH[self.auth][2]

    def scapy_sa(self):
        kw = dict(spi=self.spi, esn_en=self.esn, esn=self.seq_hi)
        if self.auth in AUTH:
            kw.update(auth_algo=AUTH[self.auth][0], auth_key=self.auth_key)
        if self.proto == "esp":
            kw.update(crypt_algo=ENC[self.enc], crypt_key=self.enc_key or None)
            return SecurityAssociation(ESP, **kw)
        return SecurityAssociation(AH, **kw)

    def esp_icv(self, esp_bytes):
        """The ESP ICV over SPI..ciphertext and, under ESN, the high half (RFC 4303 2.2.1)."""
        data = esp_bytes + (struct.pack("!I", self.seq_hi) if self.esn else b"")
        return hmac.new(self.auth_key, data, AUTH[self.auth][1]).digest()[:self.icv_len()]


def ip_layer(data):
    if data and data[0] >> 4 == 6:
        return IPv6(data)
    return IP(data)


def ah_offset(pkt):
    return len(bytes(pkt)) - len(bytes(pkt[AH]))


def gmac_tag(sa, pkt, sending):
    """RFC 4543 AES-GMAC over the AH packet's canonical image (see the module docstring)."""
    raw = bytes(pkt)
    off = ah_offset(pkt)
    img = bytearray(bytes(zero_mutable_fields(pkt.copy(), sending=sending)))
    ahlen = (raw[off + 1] + 2) * 4
    img[off + 12:off + 20] = raw[off + 12:off + 20]   # the IV stays in the AAD
    img[off + 36:off + ahlen] = raw[off + 36:off + ahlen]  # so does any padding
    aad = bytes(img) + (struct.pack("!I", sa.seq_hi) if sa.esn else b"")
    key, salt = sa.auth_key[:-4], sa.auth_key[-4:]
    return AESGCM(key).encrypt(salt + raw[off + 12:off + 20], b"", aad)


def inner_bytes(result):
    """What the packet carried after its IP header once decapsulated: the transport payload,
    or in tunnel mode the inner packet (the SAs here have no scapy tunnel header, so scapy
    decapsulates a tunnel packet as transport and keeps the outer header)."""
    raw = bytes(result)
    if raw[0] >> 4 == 4:
        return raw[(raw[0] & 15) * 4:]
    return raw[40:]


def verify_one(i, data, sas):
    r = {"index": i, "spi": 0, "seq": 0, "ok": False, "skipped": False, "reason": "",
         "next_header": 0, "pad_len": 0, "inner": "", "iv_is_seq": False}
    pkt = ip_layer(data)
    layer = ESP if ESP in pkt else AH if AH in pkt else None
    if layer is None:
        r["skipped"], r["reason"] = True, "neither ESP nor AH"
        return r
    spi, seq = pkt[layer].spi, pkt[layer].seq
    r["spi"] = spi
    dst = ipaddress.ip_address(pkt.dst)
    match = [s for s in sas if s.spi == spi and s.proto == ("esp" if layer is ESP else "ah")
             and (s.dst is None or s.dst == dst)]
    if not match:
        r["reason"] = "no SA"
        return r
    sa = match[0]
    r["seq"] = sa.seq_hi << 32 | seq if sa.esn else seq
    ssa = sa.scapy_sa()
    try:
        if layer is ESP:
            esp = bytes(pkt[ESP])
            n = len(esp) - sa.icv_len()
            verify = True
            if sa.esn:
                if not hmac.compare_digest(sa.esp_icv(esp[:n]), esp[n:]):
                    r["reason"] = "ICV mismatch (ESN, checked with hmac)"
                    return r
                verify = False
            plain = ssa.crypt_algo.decrypt(ssa, pkt[ESP], ssa.crypt_key, sa.icv_len())
            r["next_header"], r["pad_len"] = plain.nh, plain.padlen
            result = ssa.decrypt(pkt, verify=verify)
        elif sa.auth == "gmac":
            off = ah_offset(pkt)
            if not hmac.compare_digest(gmac_tag(sa, pkt, False), data[off + 20:off + 36]):
                r["reason"] = "ICV mismatch (AES-GMAC)"
                return r
            r["next_header"] = data[off]
            result = ssa.decrypt(pkt, verify=False)
        else:
            r["next_header"] = pkt[AH].nh
            result = ssa.decrypt(pkt)
    except IPSecIntegrityError as e:
        r["reason"] = "ICV mismatch (scapy): %s" % e
        return r
    r["ok"] = True
    r["inner"] = inner_bytes(result).hex()
    return r


def encrypt_one(sa, ssa, l3, seq64):
    hi, lo = seq64 >> 32, seq64 & 0xFFFFFFFF
    ssa.seq_num, ssa.esn = lo, hi
    sa.seq_hi = hi
    if sa.proto == "esp":
        iv = hashlib.sha256(struct.pack("!Q", seq64)).digest()[:16] if sa.enc == "aes-cbc" else None
        pkt = ssa.encrypt(l3.copy(), iv=iv, esn_en=sa.esn)
        raw = bytearray(bytes(pkt))
        if sa.esn:  # scapy left the high half out of the ICV
            off = len(raw) - len(bytes(pkt[ESP]))
            raw[-sa.icv_len():] = sa.esp_icv(bytes(raw[off:len(raw) - sa.icv_len()]))
        return bytes(raw)
    if sa.auth != "gmac":
        return bytes(ssa.encrypt(l3.copy(), esn_en=sa.esn))
    hdr, nh, payload = split_for_transport(l3.copy(), 51)
    iv = struct.pack("!Q", seq64)
    ah = AH(nh=nh, spi=sa.spi, seq=lo, icv=iv + bytes(16))
    if hdr.version == 6:
        ah.padding = bytes(4)
    ah.payloadlen = len(ah) // 4 - 2
    if hdr.version == 4:
        hdr.len = len(hdr) + len(ah) + len(payload)
        del hdr.chksum
        hdr = IP(bytes(hdr))
    else:
        hdr.plen = len(hdr.payload) + len(ah) + len(payload)
    pkt = ip_layer(bytes(hdr / ah / payload))
    tag = gmac_tag(sa, pkt, True)
    raw = bytearray(bytes(pkt))
    off = ah_offset(pkt)
    raw[off + 20:off + 36] = tag
    return bytes(raw)


def read_ip(path):
    out = []
    for frame in rdpcap(path):
        layer = frame
        while layer is not None and layer.name not in ("IP", "IPv6"):
            layer = layer.payload if layer.payload else None
        if layer is None:
            data = bytes(frame)
        else:
            data = bytes(layer)
        out.append(data)
    return out


def write_raw_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, data in enumerate(packets):
            f.write(struct.pack("<IIII", i, 0, len(data), len(data)))
            f.write(data)


def main(argv):
    if len(argv) >= 2 and argv[1] == "verify" and len(argv) == 4:
        with open(argv[2]) as f:
            js = json.load(f)
        sas = [SA(d) for d in (js if isinstance(js, list) else [js])]
        for i, data in enumerate(read_ip(argv[3])):
            print(json.dumps(verify_one(i, data, sas)))
        return 0
    if len(argv) >= 2 and argv[1] == "encrypt" and len(argv) == 6:
        with open(argv[2]) as f:
            sa = SA(json.load(f))
        try:
            start = int(argv[3], 0)
        except ValueError:
            raise UsageError("START_SEQ %r is not a number" % argv[3])
        ssa = sa.scapy_sa()
        out = [encrypt_one(sa, ssa, ip_layer(d), start + i) for i, d in enumerate(read_ip(argv[4]))]
        write_raw_pcap(argv[5], out)
        return 0
    raise UsageError(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (UsageError, OSError, json.JSONDecodeError) as e:
        sys.stderr.write("suites_scapy.py: %s\n" % e)
        sys.exit(2)
