package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a Prometheus collector of the gateway's counters: register it and
// serve the registry (promhttp) to have them scraped. Each scrape takes one Report.
func (g *Gateway) Collector() prometheus.Collector { return collector{g} }

type collector struct{ g *Gateway }

const ns = "ov2_gateway_"

var (
	descFrames     = prometheus.NewDesc(ns+"received_frames_total", "Frames taken from an interface's receive rings.", []string{"interface", "side"}, nil)
	descBytes      = prometheus.NewDesc(ns+"received_bytes_total", "Bytes of the frames taken from an interface's receive rings.", []string{"interface", "side"}, nil)
	descPackets    = prometheus.NewDesc(ns+"packets_total", "IP packets handed to the NIC (stage=in) and given back by it to send (stage=out), per direction.", []string{"direction", "stage"}, nil)
	descPktBytes   = prometheus.NewDesc(ns+"packet_bytes_total", "Bytes of the IP packets counted by ov2_gateway_packets_total.", []string{"direction", "stage"}, nil)
	descBridged    = prometheus.NewDesc(ns+"bridged_frames_total", "Frames passed to the other interface unchanged (kind=ip: IP for no SA).", []string{"direction", "kind"}, nil)
	descSent       = prometheus.NewDesc(ns+"sent_frames_total", "Frames the kernel took from the gateway's sockets, per direction.", []string{"direction"}, nil)
	descICMP       = prometheus.NewDesc(ns+"icmp_errors_total", "Packets too big once sealed answered with an ICMP fragmentation-needed or ICMPv6 packet-too-big error.", nil, nil)
	descFragmented = prometheus.NewDesc(ns+"fragmented_packets_total", "IPv4 packets without DF fragmented before sealing.", nil, nil)
	descFragments  = prometheus.NewDesc(ns+"fragments_total", "Fragments made of them.", nil, nil)
	descSegmented  = prometheus.NewDesc(ns+"segmented_packets_total", "TCP aggregates (GSO/GRO frames longer than the MTU) handed to the NIC as LSO + IPsec large sends.", nil, nil)
	descSegments   = prometheus.NewDesc(ns+"segments_total", "Segments the NIC cut them into.", nil, nil)
	descCoalesced  = prometheus.NewDesc(ns+"coalesced_packets_total", "Opened TCP segments sent to the inside as parts of aggregates (consecutive segments of one flow, cut back by the kernel).", nil, nil)
	descAggregates = prometheus.NewDesc(ns+"coalesced_aggregates_total", "Aggregates they made.", nil, nil)
	descDrops      = prometheus.NewDesc(ns+"drops_total", "Frames and packets dropped, by reason (the gateway's, the NIC's on send, the host's on receive, the kernel's for full rings).", []string{"reason"}, nil)
	descStatus     = prometheus.NewDesc(ns+"crypto_status_total", "Packets through the NIC's receive path by CryptoStatus (or why they were not processed).", []string{"status"}, nil)
	descSAPackets  = prometheus.NewDesc(ns+"sa_packets_total", "Packets per SA: given to it to seal (dir=out), or delivered after opening (dir=in).", []string{"dir", "spi", "src", "dst"}, nil)
	descSABytes    = prometheus.NewDesc(ns+"sa_bytes_total", "Bytes of the packets counted by ov2_gateway_sa_packets_total (plain lengths).", []string{"dir", "spi", "src", "dst"}, nil)
	descSAs        = prometheus.NewDesc(ns+"sas", "SAs in force.", []string{"dir"}, nil)
	descUpdates    = prometheus.NewDesc(ns+"update_sa_total", "UPDATE_SA requests (ESN high half).", nil, nil)
	descReloads    = prometheus.NewDesc(ns+"reloads_total", "SA reloads (SIGHUP), by result.", []string{"result"}, nil)
	descUptime     = prometheus.NewDesc(ns+"uptime_seconds", "Seconds since the gateway started forwarding.", nil, nil)
	descLinkUp     = prometheus.NewDesc(ns+"link_up", "1 when the interface is up with carrier, 0 when it is down or has none (looked at every 250 ms).", []string{"interface", "side"}, nil)
	descMTU        = prometheus.NewDesc(ns+"mtu", "The interface's MTU, as the gateway follows it.", []string{"interface", "side"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFrames, descBytes, descPackets, descPktBytes, descBridged, descSent, descICMP,
		descFragmented, descFragments, descSegmented, descSegments, descCoalesced, descAggregates, descDrops, descStatus, descSAPackets, descSABytes, descSAs, descUpdates, descReloads, descUptime,
		descLinkUp, descMTU} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	r := c.g.Report()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, d := range []struct {
		name, side string
		x          *Direction
	}{{"encrypt", "inside", &r.Encrypt}, {"decrypt", "outside", &r.Decrypt}} {
		counter(descFrames, d.x.Received.Packets, d.x.From, d.side)
		counter(descBytes, d.x.Received.Bytes, d.x.From, d.side)
		counter(descPackets, d.x.In.Packets, d.name, "in")
		counter(descPackets, d.x.Out.Packets, d.name, "out")
		counter(descPktBytes, d.x.In.Bytes, d.name, "in")
		counter(descPktBytes, d.x.Out.Bytes, d.name, "out")
		counter(descBridged, d.x.BridgedIP.Packets, d.name, "ip")
		counter(descBridged, d.x.Bridged.Packets-d.x.BridgedIP.Packets, d.name, "other")
		counter(descSent, d.x.Sent.Packets, d.name)
	}
	counter(descICMP, r.Encrypt.ICMP.Packets)
	counter(descFragmented, r.Encrypt.Fragmented.Packets)
	counter(descFragments, r.Encrypt.Fragments)
	counter(descSegmented, r.Encrypt.Segmented.Packets)
	counter(descSegments, r.Encrypt.Segments)
	counter(descCoalesced, r.Decrypt.Coalesced.Packets)
	counter(descAggregates, r.Decrypt.Aggregates)
	for k, v := range r.Drops {
		counter(descDrops, v, k)
	}
	for k, v := range r.CryptoStatus {
		counter(descStatus, v, k)
	}
	for _, s := range r.PerSA {
		spi := fmt.Sprintf("0x%08x", s.SPI)
		counter(descSAPackets, s.Packets, s.Dir, spi, s.Src, s.Dst)
		counter(descSABytes, s.Bytes, s.Dir, spi, s.Src, s.Dst)
	}
	ch <- prometheus.MustNewConstMetric(descSAs, prometheus.GaugeValue, float64(r.SAs.Outbound), "out")
	ch <- prometheus.MustNewConstMetric(descSAs, prometheus.GaugeValue, float64(r.SAs.Inbound), "in")
	counter(descUpdates, r.Updates)
	counter(descReloads, r.Reloads, "ok")
	counter(descReloads, r.ReloadErrors, "error")
	ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, r.Elapsed)
	for i, side := range [2]struct {
		name, iface string
		mtu         int32
	}{{"inside", r.Encrypt.From, c.g.inMTU.Load()}, {"outside", r.Decrypt.From, c.g.outMTU.Load()}} {
		up := 1.0
		if c.g.linkDown[i].Load() {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descLinkUp, prometheus.GaugeValue, up, side.iface, side.name)
		ch <- prometheus.MustNewConstMetric(descMTU, prometheus.GaugeValue, float64(side.mtu), side.iface, side.name)
	}
}
