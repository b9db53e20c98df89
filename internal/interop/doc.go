// Package interop lets the project's tests have ESP packets checked by peers that share no
// code with it, and get ESP packets made by one.
//
// Three independent verifiers read a pcap of raw IP packets (WritePcap writes one):
//
//   - VerifyPyca runs verify_pyca.py, written against nothing but Python's cryptography
//     package: AES-GCM (RFC 4106, ICV 8/12/16) and AES-GMAC (RFC 4543), ESN with the high
//     half inferred per RFC 4303 Appendix A, NAT-T (RFC 3948), the RFC 4303 padding
//     1, 2, 3, ..., the inner packet's length in tunnel mode, and IV = sequence number.
//   - VerifyScapy runs verify_scapy.py, which decrypts with scapy 2.5's
//     scapy.layers.ipsec.SecurityAssociation (plus an RFC 4543 transform scapy lacks).
//   - VerifyTshark runs tshark 4.0 with the SAs given as esp_sa UAT rows on its command
//     line; it checks AES-GCM ICVs only (tshark 4.0 knows neither ESN nor GMAC).
//
// EncryptScapy goes the other way: scapy protects plain IP packets with one SA, for tests of
// a receive path.
//
// What the tools get wrong, and what this package does about it:
//
//   - scapy 2.5 has no AES-GMAC: scapy_common.py adds an RFC 4543 CryptAlgo for it.
//   - scapy 2.5's "AES-GCM" goes through cryptography's AESGCM class, which always makes
//     and expects a 16-byte tag whatever crypt_icv_size says; for 8 and 12-byte ICVs an
//     AES-GCM CryptAlgo declared with the GCM mode class makes scapy take its other code
//     path, which truncates the tag and passes min_tag_length.
//   - scapy takes `seq_num or self.seq_num` and `esn or self.esn`, so an explicit sequence
//     number or ESN high half of 0 is ignored: the scripts set the SA's own fields before
//     every packet.
//   - scapy builds an IPv4 NAT-T header before the ESP payload is attached (UDP length 8),
//     and forces UDP checksum 0 on IPv6 too: encrypt_scapy.py sets the real length and
//     computes the IPv6 checksum.
//   - scapy decapsulating UDP-encapsulated IPv6 transport keeps the UDP header; and its ESP
//     trailer parser mis-slices the padding bytes, so VerifyScapy does not check padding.
//   - scapy never infers ESN high halves and tshark 4.0 has no ESN at all; VerifyPyca and
//     VerifyScapy each implement RFC 4303 Appendix A.
//   - tshark adds the ICV verdict only after dissecting the decrypted payload, so an
//     exception in any inner dissector (DNS, a heuristic one) loses it: VerifyTshark turns
//     every dissector off except link layers, IP, UDP, ESP and data. Both esp preferences
//     enable_encryption_decode and enable_authentication_check must be on, and an esp_sa
//     row for IPv4 never matches IPv6.
//
// The Python scripts are embedded in the test binary and written to a temporary directory
// when used, so the helpers work from any package's tests. They run under Debian's
// /usr/bin/python3, which has scapy and cryptography where the python3 first on PATH may
// not. Every helper calls Require first: without the tools a test skips, or fails when the
// environment sets OV2_REQUIRE_INTEROP=1, as CI does.
package interop
