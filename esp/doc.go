// Package esp is the ESP data path of the NIC model: the RFC 4303 wire format and the two
// transforms every IPsecOV2 NIC here must offer, AES-GCM (RFC 4106) and AES-GMAC (RFC 4543),
// applied in place on the packet buffer without allocating.
//
// The packet, from the ESP header on (SPEC §7, RFC 4303 §2):
//
//	 0               4               8                              16
//	+---------------+---------------+-------------------------------+
//	|      SPI      |  Seq (low 32) |         IV (8 bytes)          |  header: in clear
//	+---------------+---------------+-------------------------------+
//	|  payload ...                                                  |  encrypted (GCM)
//	|               ... | padding 1,2,3,.. | pad len | next header  |  or in clear (GMAC)
//	+---------------------------------------------------------------+
//	|  ICV (16, or 12 / 8 bytes where the SA says)                  |
//	+---------------------------------------------------------------+
//
// Which rule comes from where:
//   - Layout, padding 1, 2, 3, ... and the 4-byte alignment of the trailer: RFC 4303 §2.
//   - Only the low 32 bits of a 64-bit extended sequence number (ESN) travel; the high 32
//     bits are authenticated but implicit: RFC 4303 §2.2.1 and Appendix A.
//   - AES-GCM: key material = key ‖ 4-byte salt, nonce = salt ‖ IV, AAD = SPI ‖ Seq or, with
//     ESN, SPI ‖ Seq-high ‖ Seq-low, ICV = the GCM tag, 16, 12 or 8 bytes: RFC 4106 §§3-6, 8.
//   - AES-GMAC: the same nonce and key material; nothing is encrypted; the AAD is the whole
//     packet from the SPI to the next header (with Seq-high after the SPI under ESN) and the
//     ICV is the 16-byte tag of an empty plaintext: RFC 4543 §§3, 5.
//   - The NIC writes IV = the 64-bit sequence number (SPEC R-TX-4, PutIV): unique per key, as
//     RFC 4106 §3.1 requires, and free.
//
// The cryptography is Go's crypto/aes and crypto/cipher, keyed once per SA in NewTransform.
// Three things they do not offer directly are built around them:
//
// An 8-byte ICV. crypto/cipher refuses GCM tags under 12 bytes. Sealing is easy: seal with
// the 16-byte tag into the tailroom and keep the first 8. Opening is not, because Open needs
// the whole tag; so Open decrypts with AES-CTR itself (GCM's counter mode from nonce ‖ 2;
// the keystream comes from sealing zeros, which runs on the assembly path), re-seals the
// plaintext to get the full tag, compares its first 8 bytes in constant time and, on a
// mismatch, puts the re-sealed (identical) ciphertext back.
//
// GMAC with ESN. The AAD SPI ‖ Seq-high ‖ Seq-low ‖ IV ‖ payload ‖ trailer is not contiguous
// in the packet, and copying a whole packet per call to build it would double the memory
// traffic of a transform that otherwise only reads. Instead the bytes after the SPI move 4
// bytes right (into the tailroom on Seal, over the ICV, saved first, on Open), Seq-high is
// written in the gap, the tag is computed over the now contiguous AAD, and the bytes move
// back. Without ESN the AAD is exactly the packet and nothing moves.
//
// A packet left untouched on failure. crypto/cipher's GCM Open clears its output when the
// tag does not match, so an in-place Open would destroy a bad packet that must still be
// indicated to the host as it arrived (R-RX-5). The ciphertext is saved in the Scratch
// before decrypting and restored on failure.
//
// Allocation: nonces, ESN AADs and tags pass through the cipher.AEAD interface and so must
// not live on the stack (they would escape and allocate per packet); they live in a Scratch,
// one per lane, kept on the heap. Seal and Open then allocate nothing.
package esp
