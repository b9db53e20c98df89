#!/usr/bin/python3
"""Verify ESP packets with nothing but python-cryptography (ov2 internal/interop).

Usage: verify_pyca.py SAS.json CAPTURE.pcap [--window N]

SAS.json is a JSON list written by the Go package internal/interop, one object per SA:
  spi (int), key and salt (hex), gmac (bool), icv (8, 12 or 16), esn (bool),
  seq_hi (int, high half at the start of the stream), tunnel (bool),
  src and dst (outer addresses, "" for any; an SA is found by SPI and dst), natt (bool),
  sport and dport (int, the UDP ports under NAT-T, 0 meaning 4500).

For every packet of the capture one JSON object is written on its own line:
  index, spi, seq (64-bit, inferred under ESN), ok, skipped, reason, next_header, pad_len,
  inner (hex: the payload without padding and trailer), iv_is_seq.
The exit status is 0 whatever the packets' verdicts (the caller judges them) and 2 for a
usage error or an unreadable input.
"""
import ipaddress
import json
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PROTO_ESP = 50
PROTO_UDP = 17
PROTO_IPIP = 4
PROTO_IPV6 = 41
ESP_HDR = 8
IV_LEN = 8


class UsageError(Exception):
    pass


# ---------------------------------------------------------------- capture file

def read_capture(path):
    """Yield the IP packets of a classic pcap file (Ethernet, raw IP, IPv4 or IPv6 links)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise UsageError("%s: too short for a pcap file header" % path)
    magic_le = struct.unpack("<I", blob[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic_le in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise UsageError("%s: not a pcap file (magic 0x%08x); pcapng is not read" % (path, magic_le))
    link = struct.unpack(endian + "I", blob[20:24])[0] & 0x0FFFFFFF
    pos = 24
    while pos < len(blob):
        if pos + 16 > len(blob):
            raise UsageError("%s: truncated record header at offset %d" % (path, pos))
        incl = struct.unpack(endian + "I", blob[pos + 8:pos + 12])[0]
        frame = blob[pos + 16:pos + 16 + incl]
        if len(frame) != incl:
            raise UsageError("%s: truncated record at offset %d" % (path, pos))
        pos += 16 + incl
        if link == 1:  # Ethernet: skip VLAN tags down to the IP ethertype
            off, etype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
            while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
                etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
                off += 4
            yield frame[off:]
        elif link in (101, 228, 229, 12, 14):  # raw IP in its several numberings
            yield frame
        else:
            raise UsageError("%s: link type %d is neither Ethernet nor raw IP" % (path, link))


# ---------------------------------------------------------------- SA database

class SA:
    """One SA from the JSON file plus its receive state (the last accepted 64-bit number)."""

    def __init__(self, d):
        try:
            self.spi = int(d["spi"])
            key = bytes.fromhex(d["key"])
            self.salt = bytes.fromhex(d["salt"])
            self.gmac = bool(d.get("gmac", False))
            self.icv = int(d.get("icv", 16)) or 16
            self.esn = bool(d.get("esn", False))
            self.seq_hi = int(d.get("seq_hi", 0))
            self.tunnel = bool(d.get("tunnel", False))
            self.dst = ipaddress.ip_address(d["dst"]).packed if d.get("dst") else b""
            self.natt = bool(d.get("natt", False))
            self.sport = int(d.get("sport", 0)) or 4500
            self.dport = int(d.get("dport", 0)) or 4500
        except (KeyError, ValueError, TypeError) as e:
            raise UsageError("bad SA %r: %s" % (d, e))
        if len(key) not in (16, 24, 32):
            raise UsageError("SPI 0x%08x: AES key of %d bytes" % (self.spi, len(key)))
        if len(self.salt) != 4:
            raise UsageError("SPI 0x%08x: salt of %d bytes, want 4" % (self.spi, len(self.salt)))
        if self.icv not in (8, 12, 16) or (self.gmac and self.icv != 16):
            raise UsageError("SPI 0x%08x: ICV length %d" % (self.spi, self.icv))
        self.key = key
        self.last = None  # highest 64-bit sequence number accepted so far

    def matches(self, spi, dst):
        return spi == self.spi and (self.dst == b"" or self.dst == dst)

    def infer_hi(self, seq_lo, window):
        """RFC 4303 Appendix A: the high half of a received sequence number.

        Before any packet is accepted the SA's configured starting high half is used as is.
        Afterwards, with T the last accepted number (Th its high, Tl its low half) and W the
        window: if the window lies inside one 2^32 block (Tl >= W-1), a low half at or above
        Tl-W+1 belongs to Th and one below it has wrapped into Th+1; if the window straddles
        a block boundary (Tl < W-1), a low half at or above Tl-W+1 (mod 2^32) is still in
        the previous block Th-1 and one below it belongs to Th.
        """
        if not self.esn:
            return 0
        if self.last is None:
            return self.seq_hi
        th, tl = self.last >> 32, self.last & 0xFFFFFFFF
        bottom = (tl - window + 1) & 0xFFFFFFFF
        if tl >= window - 1:
            return th if seq_lo >= bottom else (th + 1) & 0xFFFFFFFF
        if seq_lo >= bottom:
            return th - 1 if th > 0 else 0
        return th

    def accept(self, seq64):
        if self.last is None or seq64 > self.last:
            self.last = seq64


def ip_text(b):
    return str(ipaddress.ip_address(b))


# ---------------------------------------------------------------- one packet

def locate_esp(pkt, sas):
    """Return (esp_bytes, dst_bytes, udp) or raise ValueError / return None for non-ESP."""
    if not pkt:
        raise ValueError("empty packet")
    version = pkt[0] >> 4
    if version == 4:
        if len(pkt) < 20:
            raise ValueError("IPv4 header truncated")
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        if ihl < 20 or total < ihl or total > len(pkt):
            raise ValueError("IPv4 lengths inconsistent: ihl %d total %d captured %d" % (ihl, total, len(pkt)))
        frag = struct.unpack("!H", pkt[6:8])[0]
        if frag & 0x3FFF:
            raise ValueError("IPv4 fragment")
        proto, body, dst = pkt[9], pkt[ihl:total], pkt[16:20]
    elif version == 6:
        if len(pkt) < 40:
            raise ValueError("IPv6 header truncated")
        plen = struct.unpack("!H", pkt[4:6])[0]
        if 40 + plen > len(pkt):
            raise ValueError("IPv6 payload length %d exceeds captured %d" % (plen, len(pkt) - 40))
        proto, body, dst = pkt[6], pkt[40:40 + plen], pkt[24:40]
        if proto in (0, 43, 44, 60, 51, 135, 139, 140):
            raise ValueError("IPv6 extension header %d: only packets without them are read" % proto)
    else:
        raise ValueError("IP version %d" % version)
    if proto == PROTO_ESP:
        return body, dst, False
    if proto == PROTO_UDP:
        if len(body) < 8:
            raise ValueError("UDP header truncated")
        sport, dport, ulen = struct.unpack("!HHH", body[:6])
        ports = {4500}
        for sa in sas:
            if sa.natt:
                ports.update((sa.sport, sa.dport))
        if sport not in ports and dport not in ports:
            return None
        if ulen != len(body):
            raise ValueError("UDP length %d but %d bytes follow the IP header" % (ulen, len(body)))
        payload = body[8:]
        if payload == b"\xff":
            return None  # NAT-keepalive (RFC 3948 §2.3)
        if len(payload) >= 4 and payload[:4] == b"\x00\x00\x00\x00":
            return None  # non-ESP marker: IKE (RFC 3948 §2.2)
        return payload, dst, True
    return None


def check_inner(sa, nh, inner):
    """Tunnel mode: the inner packet's own length must be exactly the bytes carried."""
    if not sa.tunnel:
        return None
    if nh == PROTO_IPIP:
        if len(inner) < 20 or inner[0] >> 4 != 4:
            return "tunnel: next header 4 but the inner packet is not IPv4"
        total = struct.unpack("!H", inner[2:4])[0]
        if total != len(inner):
            return "tunnel: inner IPv4 total length %d, %d bytes carried" % (total, len(inner))
        return None
    if nh == PROTO_IPV6:
        if len(inner) < 40 or inner[0] >> 4 != 6:
            return "tunnel: next header 41 but the inner packet is not IPv6"
        plen = struct.unpack("!H", inner[4:6])[0]
        if 40 + plen != len(inner):
            return "tunnel: inner IPv6 payload length %d, %d bytes carried" % (plen, len(inner) - 40)
        return None
    return "tunnel: next header %d is neither 4 (IPv4) nor 41 (IPv6)" % nh


def open_esp(sa, esp, hi):
    """Authenticate (and for GCM decrypt) one ESP packet; return the plaintext trailer block."""
    spi_seq = esp[:ESP_HDR]
    iv = esp[ESP_HDR:ESP_HDR + IV_LEN]
    body = esp[ESP_HDR + IV_LEN:len(esp) - sa.icv]
    icv = esp[len(esp) - sa.icv:]
    if sa.esn:
        aad = spi_seq[:4] + struct.pack("!I", hi) + spi_seq[4:]
    else:
        aad = spi_seq
    nonce = sa.salt + iv
    if sa.gmac:
        # RFC 4543: everything from the SPI to the next header is AAD, the plaintext is empty.
        dec = Cipher(algorithms.AES(sa.key), modes.GCM(nonce, icv)).decryptor()
        dec.authenticate_additional_data(aad + iv + body)
        dec.finalize()
        return body
    dec = Cipher(algorithms.AES(sa.key), modes.GCM(nonce, icv, min_tag_length=8)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


def verify_packet(index, pkt, sas, window):
    res = {"index": index, "spi": 0, "seq": 0, "ok": False, "skipped": False, "reason": "",
           "next_header": 0, "pad_len": 0, "inner": "", "iv_is_seq": False}
    try:
        found = locate_esp(pkt, sas)
    except ValueError as e:
        res["reason"] = "malformed: %s" % e
        return res
    if found is None:
        res["skipped"] = True
        res["reason"] = "not ESP"
        return res
    esp, dst, udp = found
    if len(esp) < ESP_HDR:
        res["reason"] = "ESP header truncated (%d bytes)" % len(esp)
        return res
    spi, lo = struct.unpack("!II", esp[:8])
    res["spi"], res["seq"] = spi, lo
    sa = next((s for s in sas if s.matches(spi, dst)), None)
    if sa is None:
        res["reason"] = "no SA for SPI 0x%08x and destination %s" % (spi, ip_text(dst))
        return res
    if sa.natt != udp:
        res["reason"] = "SA %s UDP encapsulation, packet %s" % (
            "expects" if sa.natt else "has no", "has it" if udp else "has none")
        return res
    if len(esp) < ESP_HDR + IV_LEN + 2 + sa.icv:
        res["reason"] = "ESP packet of %d bytes is too short" % len(esp)
        return res
    hi = sa.infer_hi(lo, window)
    seq64 = (hi << 32) | lo
    res["seq"] = seq64
    iv = esp[ESP_HDR:ESP_HDR + IV_LEN]
    res["iv_is_seq"] = iv == struct.pack("!Q", seq64)
    try:
        plain = open_esp(sa, esp, hi)
    except InvalidTag:
        res["reason"] = "ICV mismatch"
        return res
    sa.accept(seq64)
    problems = []
    pad_len, nh = plain[-2], plain[-1]
    res["pad_len"], res["next_header"] = pad_len, nh
    if pad_len > len(plain) - 2:
        problems.append("pad length %d exceeds the %d bytes before it" % (pad_len, len(plain) - 2))
        inner = b""
    else:
        inner = plain[:len(plain) - 2 - pad_len]
        padding = plain[len(plain) - 2 - pad_len:len(plain) - 2]
        if padding != bytes(range(1, pad_len + 1)):
            problems.append("padding %s is not 1, 2, 3, ..." % padding.hex())
    if (IV_LEN + len(plain)) % 4:
        problems.append("payload and trailer end %d bytes past a 4-byte boundary" % ((IV_LEN + len(plain)) % 4))
    res["inner"] = inner.hex()
    bad_inner = check_inner(sa, nh, inner) if not problems else None
    if bad_inner:
        problems.append(bad_inner)
    if not res["iv_is_seq"]:
        problems_iv = "IV %s is not the sequence number %016x" % (iv.hex(), seq64)
    else:
        problems_iv = ""
    res["ok"] = not problems
    res["reason"] = "; ".join(problems + ([problems_iv] if problems_iv else []))
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
        if window < 1:
            raise UsageError("--window wants a positive number")
    if len(args) != 2:
        raise UsageError("usage: verify_pyca.py SAS.json CAPTURE.pcap [--window N]")
    with open(args[0]) as f:
        sas = [SA(d) for d in json.load(f)]
    out = sys.stdout
    for i, pkt in enumerate(read_capture(args[1])):
        out.write(json.dumps(verify_packet(i, pkt, sas, window)) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (UsageError, OSError, json.JSONDecodeError) as e:
        sys.stderr.write("verify_pyca.py: %s\n" % e)
        sys.exit(2)
