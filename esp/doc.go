// Package esp is the ESP data path of the NIC model: the RFC 4303 wire format and the
// transforms every IPsecOV2 NIC here must offer (SPEC §2), applied in place on the packet
// buffer without allocating: AES-GCM (RFC 4106) and AES-GMAC (RFC 4543); AES-CBC (RFC 3602)
// and NULL encryption (RFC 2410), each with HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128
// (RFC 4868), encrypt then MAC. It also keys the integrity algorithms AH uses (Auth, for
// package ah).
//
// The AES-GCM / AES-GMAC packet, from the ESP header on (SPEC §7, RFC 4303 §2):
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
// # AES-CBC and NULL with HMAC (etm.go, cbc.go, hmac.go, lanes.go)
//
//	 0               4               8                          8+IVLen
//	+---------------+---------------+---------------------------+
//	|      SPI      |  Seq (low 32) | IV: 16 (AES-CBC), 0 (NULL) |  in clear
//	+---------------+---------------+---------------------------+----------------+
//	|  payload ...   | padding 1,2,3,.. | pad len | next header  |  AES-CBC: encrypted,
//	|                                                          |  whole 16-byte blocks
//	+----------------------------------------------------------+
//	|  ICV: HMAC-SHA1-96 (12) or HMAC-SHA-256-128 (16)         |
//	+----------------------------------------------------------+
//
// Framing is the host's, as for AES-GCM (R-TX-4), with the suite's sizes, which
// Algorithm.IVLen/PadAlign/PadLen and Transform.IVLen/PayloadOffset/PadAlign/PadLen/ICVLen
// give so that the host, the LSO stage and the send stage need not know the suite: IV room
// of IVLen bytes after the header, payload and trailer padded to PadAlign (16 for AES-CBC,
// 4 for NULL), MaxICVLen bytes of tailroom. Seal encrypts, then appends the ICV: the HMAC
// of SPI ‖ Seq ‖ IV ‖ ciphertext, with, under ESN, the high 32 bits of the sequence number
// appended for the computation and never sent (RFC 4303 §2.2.1, §3.3.2.1). Open checks the
// lengths, verifies the ICV in constant time before it decrypts anything, decrypts in place
// and checks the padding of the decrypted trailer in time that depends only on the length;
// bad padding behind a valid ICV is reported as ErrAuth, like a bad ICV, and the packet is
// restored, so there is no padding oracle and a failed packet is indicated as it arrived.
//
// The AES-CBC IV must be unpredictable (RFC 3602 §3), so the NIC cannot use the sequence
// number as it does for AES-GCM: Seal makes it, IV = AES_{K_iv}(0^64 ‖ n), n a per-SA 64-bit
// counter advanced atomically and K_iv a per-SA key drawn once from crypto/rand in
// NewTransform: unique (a permutation of distinct inputs), unpredictable without K_iv, one
// AES block per packet, no syscall (cbc.go, ivGen, says why this and not the encrypted
// sequence number). Transform.PutIV, which the send stage calls before Seal, therefore does
// nothing for AES-CBC and NULL.
//
// HMAC without allocating: crypto/hmac allocates in New and its objects are not safe for
// concurrent use. Each SA instead keeps only its two precomputed pad states (the hash state
// after K⊕ipad and after K⊕opad, saved with MarshalBinary), read-only; per packet a lane
// restores them into its own SHA-1 or SHA-256 object, so any lane serves any SA with no
// re-keying. The lane's hash objects live in a small fixed pool indexed by the address of the
// lane's Scratch (lanes.go): one uncontended compare-and-swap to take the lane's slot, one
// store to give it back. (Scratch itself is shared with the AES-GCM implementations; the pool
// keeps these suites self-contained.)
//
// Reporting (SPEC §5 CryptoStatus): ErrAuth, a bad ICV or bad padding alike, is
// CRYPTO_TRANSPORT_ESP_AUTH_FAILED, or CRYPTO_TUNNEL_ESP_AUTH_FAILED for a tunnel SA's
// outer part; ErrShort and ErrBlockAlign (lengths that do not add up) are
// CRYPTO_INVALID_PACKET_SYNTAX; ErrWiped (an SA deleted under the packet) is
// CRYPTO_GENERIC_ERROR.
//
// Allocation: nonces, ESN AADs, tags, and the portable core's counter blocks and keystream
// pass through the cipher.AEAD and cipher.Block interfaces and so must not live on the stack
// (they would escape and allocate per packet); they live in a Scratch, one per lane, kept on
// the heap. The portable core's GHASH tables are built in NewTransform. Seal and Open then
// allocate nothing, with either implementation. The HMAC suites allocate a lane's two hash
// objects the first time that lane (pool slot) needs each, and nothing after.
package esp
