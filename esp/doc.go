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
// # Implementations and dispatch (SPEC §6)
//
// Each SA's transform runs on one of two AES-GCM implementations, chosen once in
// NewTransform from Params.Impl and never again per packet. Transform.ImplKind and
// Transform.Impl report the choice; CPUFeatures reports what the CPU offers.
//
//   - ImplStdlib is Go's crypto/cipher GCM over crypto/aes. Where the CPU has AES-NI and
//     PCLMULQDQ (amd64) or the ARMv8 AES and PMULL instructions (arm64), Go runs it in
//     assembly that interleaves the AES rounds with a carry-less-multiply GHASH. Without
//     them Go uses its generic code; an explicit ImplStdlib still gets that, and Impl names
//     it "stdlib AES-GCM (generic Go)".
//   - ImplPortable is this package's own GCM (portable.go, ghash.go): counter mode with
//     inc32 from nonce ‖ 2 and a plain-Go GHASH with per-SA 4-bit tables for H and H² (two
//     blocks per step, so the CPU can overlap two chains of lookups), built from the field
//     definition of NIST SP 800-38D. The block function is still crypto/aes's cipher.Block,
//     which uses AES instructions for single blocks where they exist: what is portable is
//     the mode and GHASH, not AES. Because it computes the tag itself it truncates ICVs
//     natively and verifies before it decrypts, so it needs none of the stdlib adaptations
//     below.
//
// ImplAuto, the zero value, resolves to ImplStdlib exactly when Go's GCM assembly will run
// (amd64: AES-NI and PCLMULQDQ, plus SSE4.1 and SSSE3, which Go also checks; arm64: AES and
// PMULL), and to ImplPortable otherwise, including every other architecture (Go has GCM
// assembly for ppc64le and s390x too, but cpuid cannot see their features; pin ImplStdlib
// in Params there). The reasons,
// measured with BenchmarkSeal/BenchmarkOpen on an AMD EPYC (Go 1.26, 2 shared cores):
//
//   - With the assembly, the stdlib path is about ten times faster: AES-GCM-128 seals a
//     1400-byte packet in ~330 ns (~4.2 GB/s) against ~3.9 µs (~360 MB/s) for the portable
//     core. Its GHASH is also constant-time (carry-less multiplies, no key-dependent table
//     lookups), which no table-driven GHASH is.
//   - Without it (the same benchmarks under GODEBUG=cpu.aes=off,cpu.pclmulqdq=off, so that
//     both use generic AES), Go's generic GCM is table-driven Go too and the portable core is
//     the faster one: 1400-byte Seal ~5.9 µs against ~7.6 µs, GMAC ~2.5 µs against ~4.3 µs,
//     and ICV-8 Open ~6.1 µs against ~15.6 µs, because it needs no re-seal.
//
// The wide-vector features (AVX2, VAES, VPCLMULQDQ, AVX-512) are detected and reported but
// change no decision: Go 1.26's amd64 GCM assembly uses only AES-NI and 128-bit PCLMULQDQ
// (no VAES, VPCLMULQDQ or YMM/ZMM registers), and this package has no
// implementation that does. They are in Features so that the report shows the headroom.
//
// # Adapting crypto/cipher (ImplStdlib)
//
// Three things crypto/cipher does not offer directly are built around it:
//
// An 8-byte ICV. crypto/cipher refuses GCM tags under 12 bytes. Sealing is easy: seal with
// the 16-byte tag into the tailroom and keep the first 8. Opening is not, because Open needs
// the whole tag; so Open decrypts with AES-CTR itself (GCM's counter mode from nonce ‖ 2;
// the keystream comes from sealing zeros, which runs on the assembly path), re-seals the
// plaintext to get the full tag, compares its first 8 bytes in constant time and, on a
// mismatch, puts the re-sealed (identical) ciphertext back.
//
// GMAC with ESN (both implementations). The AAD SPI ‖ Seq-high ‖ Seq-low ‖ IV ‖ payload ‖ trailer is not contiguous
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
// Allocation: nonces, ESN AADs, tags, and the portable core's counter blocks and keystream
// pass through the cipher.AEAD and cipher.Block interfaces and so must not live on the stack
// (they would escape and allocate per packet); they live in a Scratch, one per lane, kept on
// the heap. The portable core's GHASH tables are built in NewTransform. Seal and Open then
// allocate nothing, with either implementation.
package esp
