// Package xfrm reads IPsec SA configuration written the way Linux's `ip xfrm state`
// (iproute2) writes it, so that SAs people already have can be pasted in, and turns each
// state into host configuration for this NIC.
//
// A file may mix `ip xfrm state add` commands (with or without sudo and `\` continuations,
// and with or without the `ip xfrm state add` prefix) and the listing `ip xfrm state` or
// `ip -s xfrm state` prints, with # comments and blank lines anywhere:
//
//	# outbound, as a command
//	ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 \
//	    mode transport flag esn replay-oseq 0x40 \
//	    aead 'rfc4106(gcm(aes))' 0x11111111111111111111111111111111cafebabe 128 dir out
//
//	# inbound, as listed
//	src 198.51.100.2 dst 192.0.2.1
//		proto esp spi 0x00002002 reqid 1 mode tunnel
//		replay-window 0 flag af-unspec esn
//		aead rfc4106(gcm(aes)) 0x22222222222222222222222222222222deadbeef 128
//		encap type espinudp sport 4500 dport 4500 addr 0.0.0.0
//		anti-replay esn context:
//		 seq-hi 0x0, seq 0x1d, oseq-hi 0x0, oseq 0x0
//		 replay_window 128, bitmap-length 4
//		 00000000 00000000 00000000 1fffffff
//		sel src 10.1.0.0/16 dst 10.2.0.0/16
//		dir in
//
// A state starts at a line that begins with `src` or with the `ip xfrm state add` command;
// lines that are indented continue it. The example file testdata/demo.sa shows more.
//
// Parse reads what host.SAConfig expresses and accepts only that: proto esp, mode
// transport or tunnel, and exactly one aead, rfc4106(gcm(aes)) (AES-GCM with a 16, 24 or
// 32-byte key, 4-byte salt, 64, 96 or 128-bit ICV) or rfc4543(gcm(aes)) (AES-GMAC, 128-bit
// ICV); encap espinudp; a selector of src and dst prefixes. Anything else (enc/auth
// algorithms, beet mode, AH, policies, espinudp-nonike, selector ports, an unknown keyword)
// is an error that says which file, line and field.
//
// ParseConfig reads the same files and more: every suite the NIC offloads, and policies.
//
//   - ESP with aead, as above.
//   - ESP with enc and auth: enc 'cbc(aes)' KEY (AES-CBC, RFC 3602, 16, 24 or 32-byte key)
//     or enc 'ecb(cipher_null)' "" (ESP-NULL, RFC 2410; the listing prints nothing after the
//     name, older iproute2 "0x"), with auth 'hmac(sha1)' KEY (HMAC-SHA-1-96, RFC 2404,
//     20-byte key) or auth-trunc 'hmac(sha256)' KEY 128 (HMAC-SHA-256-128, RFC 4868, 32-byte
//     key). auth-trunc 'hmac(sha1)' KEY 96 is the same as auth 'hmac(sha1)' KEY. The kernel's
//     short names (aes, cipher_null, sha1, sha256) are accepted too.
//   - AH (proto ah) with auth or auth-trunc only, as above.
//
// Every truncation Linux accepts is read (a multiple of 8 up to the HMAC's size), but the
// NIC does HMAC-SHA-1 at 96 bits and HMAC-SHA-256 at 128 only, and anything else is refused
// naming the field. That includes auth 'hmac(sha256)' without -trunc: Linux truncates it to
// 96 bits (xfrm_algo.c: it followed a draft older than RFC 4868), so it must be written
// auth-trunc 'hmac(sha256)' KEY 128. DES, 3DES and MD5 (cbc(des), cbc(des3_ede),
// hmac(md5)) are refused: ov2 never offloads them. Combinations Linux refuses are refused
// (aead with enc or auth; AH with enc, aead or encap; ESP auth without enc); so is ESP enc
// without auth, which Linux allows but which protects nothing. Linux has no AES-GMAC for AH
// (rfc4543(gcm(aes)) is an ESP aead only), so neither does this package.
//
// An `ip xfrm policy add` command or a pasted `ip [-s] xfrm policy` listing (see
// ExampleParseConfig) gives the states its templates name its selector. A template names a
// state by proto, mode and reqid (a reqid 0 template in an in or fwd policy takes any, as
// Linux's inbound check does), by spi and addresses when it gives them, and by a dir that
// can carry the policy's traffic; a transport-mode state carries the packet's own addresses,
// so they must lie in the policy's selector (or equal those of the state the template before
// it named). A dir fwd policy counts as an inbound one: what a gateway forwards arrives
// through the NIC like any inbound traffic, and strongSwan, for one, installs in and fwd
// policies with the same templates. A state a policy covers gets the policy's selector; a
// sel of its own must agree (a side of 0.0.0.0/0 or ::/0, which the listing prints for none,
// agrees with anything), and two policies that would give a state different selectors are
// an error: the NIC gives an SA one. Templates ESP then AH (innermost first, the order Linux
// applies them in) make the two states one Bundle; AH then ESP is refused, as NDIS takes ESP
// first only. A template no state matches is an error that names the policy's line and the
// template, unless it is optional (level use). Policies with action block take no states,
// per-socket policies (listed as `socket in`) are read and left out, ptype sub is read as
// main, and a selector proto or port is refused in a policy with templates.
//
// A line that starts with `src` is a policy when its src is a prefix (the listing always
// prints one) or it has a word only policies have (tmpl, ptype, priority, socket, action);
// otherwise it is a state. testdata/suites.sa shows every suite and a bundle.
//
// Keywords that do not concern the offload are read and ignored: the other state flags,
// `offload …` and the listing's "crypto offload parameters", reqid-like identifiers (if_id,
// mark, output-mark), lifetimes (limit …, "lifetime config:"/"lifetime current:" blocks),
// statistics, lastused and the anti-replay bitmap; in policies also index, share, uid,
// the policy flags and the templates' algorithm masks.
//
// Sequence numbers mean what they mean to Linux: replay-seq (the listing's seq) is the last
// sequence number received, replay-oseq (oseq) the last one sent, and the -hi forms are the
// high 32 bits, which need flag esn. So State.Outbound starts sending at OSeq+1 and
// State.Inbound expects Seq+1. A state without `dir` is, as on Linux, usable both ways; two
// states with the same SPI and destination whose directions overlap are an error, whatever
// their protocol (the NIC finds an inbound SA by SPI and destination alone).
//
// Numbers are decimal or 0x hex; a leading 0 (which iproute2 would read as octal) is refused.
//
// Format writes states back as `ip xfrm state add` commands (FormatConfig adds the
// policies), and WriteWiresharkKeys writes them as Wireshark's ESP SA table so captures of
// the offloaded traffic can be decrypted (AH states get no row: the table is ESP's).
package xfrm
