package host_test

import (
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

type quietHost struct{}

func (quietHost) Status(nic.StatusIndication) {}

// The whole API to embed: create a NIC, bind a host, offload an SA pair through the OIDs
// (host.Sender.AddSA and host.Receiver.AddSA issue ADD_SA), send a burst through the send
// path, carry what leaves it into the receive path, and read each indicated packet's OOB.
func Example() {
	n, err := nic.New(nic.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer n.Close()
	_, bind, _ := n.Bind(quietHost{})
	fmt.Println("ESP offload at bind:", bind.DefaultOffloadConfiguration.ESPAllowed(false))

	env := stage.Env{SAs: n.Controller(), ESPAllowed: func(v6 bool) bool { return n.CurrentConfig().ESPAllowed(v6) }}
	send, _ := stage.NewSendPath(env, stage.Config{Lanes: 1})
	recv, _ := stage.NewRecvPath(env, stage.Config{Lanes: 1})
	sender := host.NewSender(n, send)
	receiver, _ := host.NewReceiver(n, 1024)

	cfg := host.SAConfig{SPI: 0x1001, Alg: esp.AESGCM, Key: make([]byte, 16), Salt: [4]byte{1, 2, 3, 4},
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.1")}
	out, _ := sender.AddSA(cfg)
	in, _ := receiver.AddSA(cfg, out)
	fmt.Println("handles:", out, in)

	// A burst of three UDP packets, the last one to a host no SA covers.
	for i, dst := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.9"} {
		sender.Send(udpPacket("192.0.2.1", dst, i, 100))
	}
	sender.Flush()

	// The wire: what the send path completes goes into the receive path.
	buf := make([]*packet.Buffer, 8)
	for got := 0; got < 3; {
		k := send.Poll(buf)
		for _, p := range buf[:k] {
			fmt.Printf("sent %d bytes, status %v\n", p.Len(), p.Tx.Status)
			sender.Completed(p)
		}
		recv.Submit(buf[:k])
		got += k
	}
	for got := 0; got < 3; {
		for _, p := range buf[:recv.Poll(buf)] {
			inner, verdict := receiver.Receive(p, nil)
			fmt.Printf("indicated: %v; host: %v, %d bytes\n", p.Rx, verdict, len(inner))
			p.Release()
			got++
		}
	}
	sender.Close()
	recv.Close()
	// Output:
	// ESP offload at bind: true
	// handles: 0.1 1.1
	// sent 164 bytes, status NDIS_STATUS_SUCCESS
	// sent 164 bytes, status NDIS_STATUS_SUCCESS
	// sent 128 bytes, status NDIS_STATUS_SUCCESS
	// indicated: CryptoDone status=CRYPTO_SUCCESS(0) nh=17 pad=2 handle=0x100000001; host: delivered, 128 bytes
	// indicated: CryptoDone status=CRYPTO_SUCCESS(0) nh=17 pad=2 handle=0x100000001; host: delivered, 128 bytes
	// indicated: status=CRYPTO_SUCCESS(0); host: plain, 128 bytes
}
