package xfrm

import (
	"math"
	"strings"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
)

// stateParser reads the words of one state.
type stateParser struct {
	words
	st State

	aeadOnly bool // Parse: refuse what host.SAConfig cannot express, as before ParseConfig
	lastKey  string

	alg                 esp.Algorithm
	seqLo, seqHi        uint32
	oseqLo, oseqHi      uint32
	windowXS, windowESN uint64
}

// Known flags: esn matters, the rest are accepted and have no effect on the offload.
var flagBits = map[string]uint8{
	"noecn": 1, "decap-dscp": 2, "nopmtudisc": 4, "wildrecv": 8,
	"icmp": 16, "af-unspec": 32, "align4": 64, "esn": 128,
}

const flagESN = 128

const supportedAlgs = "aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC)"

// Keywords iproute2 knows that change what the SA does in ways this offload does not model.
// extra_flag is how a listing prints extra-flag (dont-encap-dscp, oseq-may-wrap): a pasted
// dump gets the same refusal as the command, not "unknown keyword".
var unsupported = map[string]bool{
	"coa": true, "ctx": true, "extra-flag": true, "extra_flag": true, "tfcpad": true, "cpu": true,
	"security": true, "iptfs-opts": true, "tmpl": true,
}

func (p *stateParser) parse() (State, error) {
	p.st = State{File: p.file, Line: p.start, Mode: host.Transport}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		if err := p.keyword(t); err != nil {
			return State{}, err
		}
		p.lastKey = t.text
	}
	return p.finish()
}

func (p *stateParser) keyword(t token) error {
	switch t.text {
	case "src", "dst":
		if err := p.once(t.text, t); err != nil {
			return err
		}
		a, err := p.addr(t)
		if err != nil {
			return err
		}
		if t.text == "src" {
			p.st.Src = a
		} else {
			p.st.Dst = a
		}

	case "proto":
		if err := p.once("proto", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch {
		case v.text == "esp":
		case v.text == "ah" && !p.aeadOnly:
			p.seen["ah"] = v
			p.st.Proto = AH
			return p.conflict(v, "ah")
		case p.aeadOnly:
			return p.errf(v, "proto", "protocol %q is not supported; only esp is", v.text)
		default:
			return p.errf(v, "proto", "protocol %q is not supported; want esp or ah", v.text)
		}

	case "spi":
		if err := p.once("spi", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		if n == 0 {
			return p.errf(t, "spi", "SPI 0 is reserved")
		}
		p.st.SPI = n

	case "reqid":
		if err := p.once("reqid", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		p.st.ReqID = n

	case "mode":
		if err := p.once("mode", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "transport":
			p.st.Mode = host.Transport
		case "tunnel":
			p.st.Mode = host.Tunnel
		default:
			return p.errf(v, "mode", "mode %q is not supported; want transport or tunnel", v.text)
		}

	case "flag":
		return p.flags(t)

	case "replay-window":
		// The command's window, or (a trailing comma) the window in the listing's ESN
		// context as iproute2 prints it for an SA with a direction.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") {
			return p.window(t, "replay-window-esn", &p.windowESN)
		}
		return p.window(t, "replay-window", &p.windowXS)
	case "replay_window": // the listing's ESN context
		return p.window(t, "replay-window-esn", &p.windowESN)

	case "replay-seq", "replay-oseq", "replay-seq-hi", "replay-oseq-hi":
		return p.seq(t, t.text)
	case "seq-hi", "oseq-hi", "oseq": // the listing's replay context
		return p.seq(t, "replay-"+t.text)
	case "seq":
		// In a replay context ("seq 0x0, oseq 0x0" or "seq-hi 0x0, seq 0x5") it is the last
		// inbound number; alone (`seq SEQ`, or `ip -s`'s "seq 0x00000000") it is the
		// state's netlink sequence, which means nothing here.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") || p.lastKey == "seq-hi" || p.lastKey == "anti-replay" {
			return p.seq(t, "replay-seq")
		}
		_, err := p.value(t)
		return err
	case "anti-replay": // "anti-replay context:" or "anti-replay esn context:"
		v, err := p.value(t)
		if err == nil && v.text == "esn" {
			v, err = p.value(t)
		}
		if err != nil || v.text != "context:" {
			return p.errf(t, t.text, `want "anti-replay context:" or "anti-replay esn context:"`)
		}
	case "bitmap": // non-ESN replay context: "bitmap 0x00000000"
		_, err := p.number(t, math.MaxUint32)
		return err
	case "bitmap-length": // ESN replay context; the bitmap words follow
		n, err := p.number(t, math.MaxUint32)
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			v, ok := p.peek()
			if !ok || !isHexWord(v.text) {
				break
			}
			p.i++
		}

	case "aead":
		return p.aead(t)
	case "enc", "auth", "auth-trunc", "comp":
		switch {
		case p.aeadOnly: // Parse refuses them, with the message below
		case t.text == "enc":
			return p.enc(t)
		case t.text == "comp":
			return p.errf(t, t.text, "IPComp is not supported")
		default:
			if prev, ok := p.seen["auth"]; ok && prev.text != t.text {
				return p.errf(t, t.text, "cannot be given with %s (line %d): one of them sets the integrity algorithm", prev.text, prev.line)
			}
			return p.auth(t)
		}
		if v, ok := p.peek(); ok {
			return p.errf(t, t.text, "%s %q is not supported; only %s are", t.text, v.text, supportedAlgs)
		}
		return p.errf(t, t.text, "%s is not supported; only %s are", t.text, supportedAlgs)

	case "encap":
		return p.encap(t)
	case "sel":
		return p.sel(t)

	case "dir":
		if err := p.once("dir", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "in":
			p.st.Dir = In
		case "out":
			p.st.Dir = Out
		default:
			return p.errf(v, "dir", "dir %q is not valid; want in or out", v.text)
		}

	case "offload":
		return p.offload(t)
	case "crypto": // listing: "crypto offload parameters: dev eth0 dir out mode packet"
		return p.offloadListing(t)

	case "lastused": // listing: "lastused 2024-08-29 12:33:12" or "lastused -"
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if v.text == "-" {
			return nil
		}
		w, ok := p.peek()
		if !isDate(v.text) || !ok || !isTime(w.text) {
			return p.errf(v, t.text, "want lastused YYYY-MM-DD HH:MM:SS")
		}
		p.i++

	case "if_id":
		_, err := p.number(t, math.MaxUint32)
		return err
	case "pcpu-num": // a per-CPU SA (RFC 9611; iproute2 6.18 prints it on a line of its own)
		// Which CPU the kernel sends it from; the SA is offloaded as any other.
		_, err := p.number(t, math.MaxUint32)
		return err
	case "mark", "output-mark": // "mark 5 [mask 0xff]" or, listed, "mark 0x5/0xff"
		return p.mark(t)
	case "limit":
		return p.limit(t)

	default:
		if unsupported[t.text] {
			return p.errf(t, t.text, "not supported")
		}
		return p.errf(t, t.text, "unknown keyword")
	}
	return nil
}

func (p *stateParser) finish() (State, error) {
	st := &p.st
	start := token{line: p.start}
	required, msg := []string{"src", "dst", "spi"}, "missing (every state needs src, dst and spi)"
	if p.aeadOnly {
		required, msg = append(required, "aead"), "missing (every state needs src, dst, spi and aead)"
	}
	for _, f := range required {
		if _, ok := p.seen[f]; !ok {
			return State{}, p.errf(start, f, "%s", msg)
		}
	}
	if err := p.finishAlgs(); err != nil {
		return State{}, err
	}
	if st.Src.Is4() != st.Dst.Is4() {
		return State{}, p.errf(p.seen["dst"], "dst", "%v (%s) and src %v (%s) are different address families",
			st.Dst, family(st.Dst), st.Src, family(st.Src))
	}
	if !st.ESN {
		for _, f := range []struct {
			canon string
			v     uint32
		}{{"replay-seq-hi", p.seqHi}, {"replay-oseq-hi", p.oseqHi}} {
			if f.v != 0 {
				k := p.seen[f.canon]
				return State{}, p.errf(k, k.text, "%#x needs flag esn: without ESN there are no high 32 bits", f.v)
			}
		}
	}
	st.Seq = uint64(p.seqHi)<<32 | uint64(p.seqLo)
	st.OSeq = uint64(p.oseqHi)<<32 | uint64(p.oseqLo)
	for _, f := range []struct {
		canon, verb string
		v           uint64
	}{{"replay-seq", "receive", st.Seq}, {"replay-oseq", "send", st.OSeq}} {
		if _, m := checkSeq(st.ESN, f.v, f.canon, f.verb); m != "" {
			k, ok := p.seen[f.canon]
			if !ok {
				k = p.seen[f.canon+"-hi"]
			}
			return State{}, p.errf(k, k.text, "%s", m)
		}
	}
	// Linux keeps a window up to 32 in the SA and a larger one (or any with ESN) in the
	// replay state: a listing shows both, one of them 0.
	w := p.windowXS
	if p.windowESN != 0 {
		if w != 0 && w != p.windowESN {
			k := p.seen["replay-window-esn"]
			return State{}, p.errf(k, k.text, "replay window %d differs from replay-window %d on line %d",
				p.windowESN, w, p.seen["replay-window"].line)
		}
		w = p.windowESN
	}
	st.ReplayWindow = int(w)
	return *st, nil
}
