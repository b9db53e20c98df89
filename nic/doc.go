// Package nic is the NIC as a whole, as the IPsec Offload Version 2 contract describes it:
// it reports its capabilities (the NDIS_IPSEC_OFFLOAD_V2 record), holds a current
// configuration that OID_TCP_OFFLOAD_PARAMETERS changes, hands that configuration to every
// host that binds to it, raises status indications when the configuration or the hardware
// capabilities change, and serves the SA OIDs through the control goroutine of package sa.
//
// The host (the TCP/IP transport's role) is anything that implements Protocol: it binds,
// receives status indications, and issues OIDs. The data path (send and receive stages)
// takes a Reader from Controller().NewReader and loads the SA table and the current
// configuration once per burst.
//
// Every OID is served on one goroutine (the sa.Controller's), configuration changes
// included, so an ADD_SA sees the configuration that was current when it was served and
// never half of a change (R-SA-1, R-CAP-4). Queries read immutable snapshots published by
// that goroutine and can be made at any time from any goroutine (R-CAP-6).
//
// Configuration comes from a Config value (DefaultConfig, or built by hand) or a keyword
// file (LoadConfig) that plays the part of the registry's standardized keywords
// *IPsecOffloadV2 and *IPsecOffloadV2IPv4 (R-CAP-2); the file format is described in
// configfile.go and nic/testdata/ov2nic.conf is a complete example.
package nic
