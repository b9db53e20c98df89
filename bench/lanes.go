package bench

import (
	"fmt"

	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// laneOf is the lane a path gives a packet with this key (stage.LaneOf): the benchmark
// picks SAs that load every lane equally, since a lane's packets follow its SAs and with a
// handful of SAs a hash leaves lanes unevenly loaded by chance.
func laneOf(key uint64, lanes int) int { return stage.LaneOf(key, lanes) }

// benchSA is one SA that carries benchmark packets.
type benchSA struct {
	spi      uint32
	out, in  sa.Handle // outbound (send path) and inbound (receive path) handles; 0 if unused
	sendLane int
	recvLane int
}

// firstSPI is the first SPI tried; candidates count up from it.
const firstSPI = 0x1000

// pickSAs offloads perLane SAs for every lane of the paths the mode uses, chosen so that
// each send lane gets perLane of them by handle and each receive lane perLane by SPI. The
// handle is known only once the SA is added, so candidates are added in batches and the
// ones that would unbalance a lane are deleted again. The result is ordered round robin
// over the send lanes (receive lanes for decrypt), so that consecutive packets go to
// different lanes.
func pickSAs(n *nic.NIC, a Algo, mode Mode, lanes, perLane int) ([]benchSA, error) {
	needSend, needRecv := mode != Decrypt, mode != Encrypt
	want := lanes * perLane
	sendCount := make([]int, lanes)
	recvCount := make([]int, lanes)
	var picked []benchSA
	spi := uint32(firstSPI)
	const batch, maxTries = 64, 1 << 16
	for tries := 0; len(picked) < want; {
		if tries >= maxTries {
			return nil, fmt.Errorf("bench: no balanced set of %d SAs over %d lanes in %d candidates", want, lanes, maxTries)
		}
		if !needSend { // the receive lane follows the SPI alone: no SA needed to know it
			r := laneOf(uint64(spi), lanes)
			if recvCount[r] < perLane {
				recvCount[r]++
				picked = append(picked, benchSA{spi: spi, recvLane: r})
			}
			spi++
			tries++
			continue
		}
		bundles := make([]sa.Bundle, batch)
		for i := range bundles {
			bundles[i] = bundleFor(spi+uint32(i), a, false)
		}
		hs, err := addSAs(n, bundles)
		if err != nil {
			return nil, err
		}
		var drop []sa.Handle
		for i, h := range hs {
			s, r := laneOf(uint64(h), lanes), 0
			if needRecv {
				r = laneOf(uint64(spi+uint32(i)), lanes)
			}
			if len(picked) < want && sendCount[s] < perLane && (!needRecv || recvCount[r] < perLane) {
				sendCount[s]++
				if needRecv {
					recvCount[r]++
				}
				picked = append(picked, benchSA{spi: spi + uint32(i), out: h, sendLane: s, recvLane: r})
				continue
			}
			drop = append(drop, h)
		}
		if err := deleteSAs(n, drop); err != nil {
			return nil, err
		}
		spi += batch
		tries += batch
	}
	if needRecv {
		bundles := make([]sa.Bundle, len(picked))
		for i, p := range picked {
			bundles[i] = bundleFor(p.spi, a, true)
		}
		hs, err := addSAs(n, bundles)
		if err != nil {
			return nil, err
		}
		for i := range picked {
			picked[i].in = hs[i]
		}
	}
	// Round robin over the lanes of the path packets enter first.
	lane := func(p benchSA) int {
		if needSend {
			return p.sendLane
		}
		return p.recvLane
	}
	out := make([]benchSA, 0, len(picked))
	for round := 0; round < perLane; round++ {
		for l := 0; l < lanes; l++ {
			seen := 0
			for _, p := range picked {
				if lane(p) != l {
					continue
				}
				if seen == round {
					out = append(out, p)
					break
				}
				seen++
			}
		}
	}
	return out, nil
}
