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
// Only what the offload does is accepted: proto esp, mode transport or tunnel, and exactly
// one aead, rfc4106(gcm(aes)) (AES-GCM with a 16, 24 or 32-byte key, 4-byte salt, 64, 96 or
// 128-bit ICV) or rfc4543(gcm(aes)) (AES-GMAC, 128-bit ICV); encap espinudp; a selector of
// src and dst prefixes. Anything else (enc/auth algorithms, beet mode, AH, espinudp-nonike,
// selector ports, an unknown keyword) is an error that says which file, line and field.
// Keywords that do not concern the offload are read and ignored: the other state flags,
// `offload …` and the listing's "crypto offload parameters", reqid-like identifiers (if_id,
// mark, output-mark), lifetimes (limit …, "lifetime config:"/"lifetime current:" blocks),
// statistics, lastused and the anti-replay bitmap.
//
// Sequence numbers mean what they mean to Linux: replay-seq (the listing's seq) is the last
// sequence number received, replay-oseq (oseq) the last one sent, and the -hi forms are the
// high 32 bits, which need flag esn. So State.Outbound starts sending at OSeq+1 and
// State.Inbound expects Seq+1. A state without `dir` is, as on Linux, usable both ways; two
// states with the same SPI and destination whose directions overlap are an error.
//
// Numbers are decimal or 0x hex; a leading 0 (which iproute2 would read as octal) is refused.
//
// Format writes states back as `ip xfrm state add` commands, and WriteWiresharkKeys writes
// them as Wireshark's ESP SA table so captures of the offloaded traffic can be decrypted.
package xfrm
