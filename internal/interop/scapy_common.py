"""Shared by verify_scapy.py and encrypt_scapy.py (ov2 internal/interop): the SA JSON file,
an RFC 4543 AES-GMAC transform that scapy 2.5 lacks, and scapy SecurityAssociation objects
built from the SA file.

The SA JSON format is the one the Go package writes (see verify_pyca.py's docstring).
"""
import ipaddress
import logging
import struct

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import (  # noqa: E402
    CRYPT_ALGOS, ESP, CryptAlgo, IPSecIntegrityError, SecurityAssociation, _ESPPlain)
from scapy.packet import bind_layers  # noqa: E402


class UsageError(Exception):
    """A bad command line or SA file: the scripts exit 2."""


def _gcm_nonce(sa, iv, **_kw):
    return sa.crypt_salt + iv


class GmacTransform(CryptAlgo):
    """ENCR_NULL_AUTH_AES_GMAC (RFC 4543) in scapy's CryptAlgo shape.

    Nothing is encrypted. The 16-byte ICV is the GCM tag of an empty plaintext under the
    nonce salt || IV, with the whole ESP packet from the SPI to the next header as AAD and,
    under ESN, the high half of the sequence number inserted after the SPI.
    """

    def __init__(self):
        super().__init__("OV2-AES-GMAC", cipher=algorithms.AES, mode=None, block_size=1,
                         iv_size=8, key_size=(16, 24, 32), icv_size=16, salt_size=4,
                         format_mode_iv=_gcm_nonce)
        self.is_aead = True

    @staticmethod
    def _aad(esp, iv, clear, esn_en, esn):
        if esn_en:
            head = struct.pack("!III", esp.spi, esn, esp.seq)
        else:
            head = struct.pack("!II", esp.spi, esp.seq)
        return head + iv + clear

    def encrypt(self, sa, esp, key, icv_size=None, esn_en=False, esn=0):
        clear = esp.data_for_encryption()
        enc = Cipher(algorithms.AES(key), modes.GCM(sa.crypt_salt + esp.iv)).encryptor()
        enc.authenticate_additional_data(self._aad(esp, esp.iv, clear, esn_en, esn))
        enc.finalize()
        return ESP(spi=esp.spi, seq=esp.seq, data=esp.iv + clear + enc.tag)

    def decrypt(self, sa, esp, key, icv_size=None, esn_en=False, esn=0):
        iv, clear, icv = esp.data[:8], esp.data[8:-16], esp.data[-16:]
        dec = Cipher(algorithms.AES(key), modes.GCM(sa.crypt_salt + iv, icv)).decryptor()
        dec.authenticate_additional_data(self._aad(esp, iv, clear, esn_en, esn))
        try:
            dec.finalize()
        except InvalidTag as err:
            raise IPSecIntegrityError(err)
        padlen, nh = clear[-2], clear[-1]
        end = len(clear) - 2 - padlen
        return _ESPPlain(spi=esp.spi, seq=esp.seq, iv=iv, data=clear[:end],
                         padding=clear[end:-2], padlen=padlen, nh=nh, icv=icv)


# scapy 2.5's own AES-GCM uses the AESGCM AEAD class, which always makes and expects a
# 16-byte tag whatever crypt_icv_size says. Declared with cryptography's GCM *mode* instead,
# scapy takes its other (Cipher) code path, which truncates the tag on encryption and passes
# the received tag's length as min_tag_length on decryption: RFC 4106's 8 and 12-byte ICVs.
CRYPT_ALGOS["OV2-AES-GCM-SHORT-ICV"] = CryptAlgo(
    "OV2-AES-GCM-SHORT-ICV", cipher=algorithms.AES, mode=modes.GCM, block_size=1, iv_size=8,
    key_size=(16, 24, 32), icv_size=16, salt_size=4, format_mode_iv=_gcm_nonce)
CRYPT_ALGOS["OV2-AES-GMAC"] = GmacTransform()


def _addr(text):
    return ipaddress.ip_address(text) if text else None


class SAConfig:
    """One SA of the JSON file, plus the receive state for ESN inference."""

    def __init__(self, d):
        try:
            self.spi = int(d["spi"])
            self.key = bytes.fromhex(d["key"])
            self.salt = bytes.fromhex(d["salt"])
            self.gmac = bool(d.get("gmac", False))
            self.icv = int(d.get("icv", 16)) or 16
            self.esn = bool(d.get("esn", False))
            self.seq_hi = int(d.get("seq_hi", 0))
            self.tunnel = bool(d.get("tunnel", False))
            self.src = _addr(d.get("src", ""))
            self.dst = _addr(d.get("dst", ""))
            self.natt = bool(d.get("natt", False))
            self.sport = int(d.get("sport", 0)) or 4500
            self.dport = int(d.get("dport", 0)) or 4500
        except (KeyError, ValueError, TypeError) as e:
            raise UsageError("bad SA %r: %s" % (d, e))
        if len(self.key) not in (16, 24, 32) or len(self.salt) != 4:
            raise UsageError("SPI 0x%08x: key %d bytes, salt %d bytes" % (self.spi, len(self.key), len(self.salt)))
        if self.icv not in (8, 12, 16) or (self.gmac and self.icv != 16):
            raise UsageError("SPI 0x%08x: ICV length %d" % (self.spi, self.icv))
        if self.tunnel and (self.src is None or self.dst is None):
            raise UsageError("SPI 0x%08x: a tunnel SA needs src and dst" % self.spi)
        self.last = None
        if self.natt:
            # scapy binds ESP to UDP port 4500 only.
            bind_layers(UDP, ESP, dport=self.dport)
            bind_layers(UDP, ESP, sport=self.sport)

    def algo_name(self):
        if self.gmac:
            return "OV2-AES-GMAC"
        return "AES-GCM" if self.icv == 16 else "OV2-AES-GCM-SHORT-ICV"

    def scapy_sa(self):
        tunnel_header = None
        if self.tunnel:
            if self.dst.version == 4:
                tunnel_header = IP(src=str(self.src), dst=str(self.dst))
            else:
                tunnel_header = IPv6(src=str(self.src), dst=str(self.dst))
        nat_t_header = UDP(sport=self.sport, dport=self.dport) if self.natt else None
        return SecurityAssociation(ESP, spi=self.spi, crypt_algo=self.algo_name(),
                                   crypt_key=self.key + self.salt, crypt_icv_size=self.icv,
                                   tunnel_header=tunnel_header, nat_t_header=nat_t_header,
                                   esn_en=self.esn, esn=self.seq_hi)

    def infer_hi(self, lo, window):
        """The high half of a received number, RFC 4303 Appendix A (see verify_pyca.py)."""
        if not self.esn:
            return 0
        if self.last is None:
            return self.seq_hi
        th, tl = self.last >> 32, self.last & 0xFFFFFFFF
        bottom = (tl - window + 1) & 0xFFFFFFFF
        if tl >= window - 1:
            return th if lo >= bottom else (th + 1) & 0xFFFFFFFF
        if lo >= bottom:
            return th - 1 if th > 0 else 0
        return th

    def accept(self, seq64):
        if self.last is None or seq64 > self.last:
            self.last = seq64


def load_sas(path):
    import json
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, list):
        raise UsageError("%s: want a JSON list of SAs" % path)
    return [SAConfig(d) for d in data]


def network_layer(pkt):
    """The first IPv4 or IPv6 layer of a captured frame, or None."""
    layer = pkt
    while layer is not None and layer.name not in ("IP", "IPv6"):
        layer = layer.payload if layer.payload else None
    return layer


def write_raw_pcap(path, packets):
    """Write raw IP packets as a pcap with link type 101 (LINKTYPE_RAW)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, data in enumerate(packets):
            f.write(struct.pack("<IIII", i, 0, len(data), len(data)))
            f.write(data)
