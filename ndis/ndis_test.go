package ndis

import "testing"

// SPEC section 5: the CryptoStatus values, their names, and the Linux xfrm_offload form
// (1 << value).
func TestCryptoStatus(t *testing.T) {
	want := []struct {
		c    CryptoStatus
		name string
		xfrm uint32
	}{
		{CryptoSuccess, "CRYPTO_SUCCESS", 1},
		{CryptoGenericError, "CRYPTO_GENERIC_ERROR", 2},
		{CryptoTransportAHAuthFailed, "CRYPTO_TRANSPORT_AH_AUTH_FAILED", 4},
		{CryptoTransportESPAuthFailed, "CRYPTO_TRANSPORT_ESP_AUTH_FAILED", 8},
		{CryptoTunnelAHAuthFailed, "CRYPTO_TUNNEL_AH_AUTH_FAILED", 16},
		{CryptoTunnelESPAuthFailed, "CRYPTO_TUNNEL_ESP_AUTH_FAILED", 32},
		{CryptoInvalidPacketSyntax, "CRYPTO_INVALID_PACKET_SYNTAX", 64},
		{CryptoInvalidProtocol, "CRYPTO_INVALID_PROTOCOL", 128},
	}
	for i, w := range want {
		if uint16(w.c) != uint16(i) || w.c.String() != w.name || w.c.XfrmStatus() != w.xfrm {
			t.Errorf("%d: value %d name %s xfrm %d", i, w.c, w.c.String(), w.c.XfrmStatus())
		}
		if c, ok := CryptoStatusFromXfrm(w.xfrm); !ok || c != w.c {
			t.Errorf("from xfrm %d: %v %v", w.xfrm, c, ok)
		}
	}
	if CryptoStatus(8).XfrmStatus() != 0 || CryptoStatus(8).String() != "CryptoStatus(8)" {
		t.Error("unknown status")
	}
	for _, bits := range []uint32{0, 3, 256, 1 << 31} {
		if _, ok := CryptoStatusFromXfrm(bits); ok {
			t.Errorf("xfrm %#x accepted", bits)
		}
	}
}

// R-SA-1 values and names.
func TestNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{OIDIPsecOffloadV2AddSA.String(), "OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA"},
		{OID(0xFC030205).String(), "OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA_EX"},
		{OID(0xFC030203).String(), "OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA"},
		{OID(0xFC030204).String(), "OID_TCP_TASK_IPSEC_OFFLOAD_V2_UPDATE_SA"},
		{OID(0xFC030202).String(), "OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA"},
		{OID(1).String(), "OID(0x00000001)"},
		{StatusFailure.String(), "NDIS_STATUS_FAILURE"},
		{Status(0xC0000001).String(), "NDIS_STATUS_FAILURE"},
		{Status(0x40020006).String(), "NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG"},
		{Status(0x40020007).String(), "NDIS_STATUS_TASK_OFFLOAD_HARDWARE_CAPABILITIES"},
		{Status(5).String(), "NDIS_STATUS(0x00000005)"},
		{OpESP.String(), "ESP"},
		{Operation(9).String(), "Operation(9)"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}
