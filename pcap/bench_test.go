package pcap

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// benchCapture is a capture of 4096 Ethernet frames of the given size.
func benchCapture(b *testing.B, format string, size int) []byte {
	frame := ether(b, ipv4UDP(b, size-14-28))
	pk := make([]pkt, 4096)
	for i := range pk {
		pk[i] = pkt{ts: t0.Add(time.Duration(i) * time.Microsecond), data: frame}
	}
	if format == "pcapng" {
		return pcapngFile(b, []LinkType{LinkTypeEthernet}, pk)
	}
	return pcapgoFile(b, true, LinkTypeEthernet, 65535, pk)
}

// BenchmarkNext reads packets from memory; one op is one packet (ns/packet is ns/op,
// spelled out). Reopening at the end of the capture is not timed.
func BenchmarkNext(b *testing.B) {
	for _, format := range []string{"pcap", "pcapng"} {
		for _, size := range []int{64, 1400} {
			b.Run(format+"/"+itoa(size), func(b *testing.B) {
				file := benchCapture(b, format, size)
				src := bytes.NewReader(file)
				r := must(NewReader("bench", src))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					_, err := r.Next()
					if err == io.EOF {
						// Reopen, and read the first packet (which allocates pcapgo's packet
						// buffer), off the clock.
						b.StopTimer()
						src.Reset(file)
						r = must(NewReader("bench", src))
						_, err = r.Next()
						b.StartTimer()
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
			})
		}
	}
}

// BenchmarkNextNetwork is Next followed by Network, the replay loop's read side.
func BenchmarkNextNetwork(b *testing.B) {
	file := benchCapture(b, "pcap", 1400)
	src := bytes.NewReader(file)
	r := must(NewReader("bench", src))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec, err := r.Next()
		if err == io.EOF {
			b.StopTimer()
			src.Reset(file)
			r = must(NewReader("bench", src))
			rec, err = r.Next()
			b.StartTimer()
		}
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := Network(rec.Link, rec.Data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}

func BenchmarkNetwork(b *testing.B) {
	frame := etherVLAN(b, ipv6UDP(b, 100), layers.EthernetTypeDot1Q, 5)
	b.ReportAllocs()
	for range b.N {
		if _, _, err := Network(LinkTypeEthernet, frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteV writes 1400-byte packets as link header + IP packet: "file" to a
// temporary file (bound by the disk), "discard" with the buffer flushing to io.Discard
// (the Writer's own cost).
func BenchmarkWriteV(b *testing.B) {
	for _, sink := range []string{"file", "discard"} {
		b.Run(sink, func(b *testing.B) {
			w := must(Create(filepath.Join(b.TempDir(), "bench.pcap"), LinkTypeEthernet, 0))
			defer w.Abort()
			if sink == "discard" {
				w.bw.Reset(io.Discard)
			}
			frame := ether(b, ipv4UDP(b, 1400-14-28))
			link, ip := frame[:14], frame[14:]
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := w.WriteV(t0, link, ip); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
