package nic_test

import (
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/sa"
)

type printHost struct{}

func (printHost) Status(ind nic.StatusIndication) {
	fmt.Printf("indication %v: ESP for IPv6 %v\n", ind.StatusCode, ind.Config.ESPAllowed(true))
}

// A host binds to a NIC, offloads an inbound AES-GCM-128 SA, changes the offload
// configuration, and deletes the SA.
func Example() {
	n, err := nic.New(nic.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer n.Close()
	_, bp, _ := n.Bind(printHost{})
	fmt.Println("ESP allowed at bind:", bp.DefaultOffloadConfiguration.ESPAllowed(false))

	req := &nic.AddSA{Bundle: sa.Bundle{
		Flags:      ndis.SAInbound,
		Dst:        netip.MustParseAddr("198.51.100.2"),
		NumExtHdrs: 1,
		SecAssoc: [2]sa.SecAssoc{{
			Operation:           ndis.OpESP,
			Spi:                 0x1001,
			EncryptionAlgorithm: sa.Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20},
		}},
		KeyData: []byte("16-byte AES key!salt"), // key ‖ salt (RFC 4106)
	}}
	st, _ := n.Request(ndis.OIDIPsecOffloadV2AddSA, req)
	fmt.Println("ADD_SA:", st, "handle", req.OffloadHandle)

	dst := netip.MustParseAddr("198.51.100.2").As4()
	found := n.Controller().Snapshot().LookupInbound(0x1001, dst[:])
	fmt.Println("lookup by SPI and destination:", found.Handle, found.Transform.Alg())

	st, _ = n.SetOffloadParameters(nic.OffloadParameters{IPsecV2: nic.IPsecV2Disabled, IPsecV2IPv4: nic.IPsecV2ESPEnabled})
	fmt.Println("OID_TCP_OFFLOAD_PARAMETERS:", st)

	st, _ = n.Request(ndis.OIDIPsecOffloadV2DeleteSA, &nic.DeleteSA{OffloadHandle: req.OffloadHandle})
	fmt.Println("DELETE_SA:", st, "key zeroed:", found.Transform.KeyZeroed())
	st, err = n.Request(ndis.OIDIPsecOffloadV2DeleteSA, &nic.DeleteSA{OffloadHandle: req.OffloadHandle})
	fmt.Println("DELETE_SA again:", st, err)
	// Output:
	// ESP allowed at bind: true
	// ADD_SA: NDIS_STATUS_SUCCESS handle 0.1
	// lookup by SPI and destination: 0.1 AES-GCM
	// indication NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG: ESP for IPv6 false
	// OID_TCP_OFFLOAD_PARAMETERS: NDIS_STATUS_SUCCESS
	// DELETE_SA: NDIS_STATUS_SUCCESS key zeroed: true
	// DELETE_SA again: NDIS_STATUS_INVALID_PARAMETER sa: unknown or stale offload handle: handle 0.1
}
