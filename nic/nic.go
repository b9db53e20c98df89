package nic

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

// NIC is one modelled network adapter with IPsecOV2.
type NIC struct {
	ctl *sa.Controller

	// Immutable snapshots, replaced on the control goroutine and read anywhere.
	hw       atomic.Pointer[Capabilities]
	cur      atomic.Pointer[CurrentConfig]
	bindings atomic.Pointer[[]*Binding]

	generation atomic.Uint64 // bumped on every configuration or capability change
}

// New initialises a NIC from its configuration (R-CAP-1, R-CAP-2): the configuration is
// validated (an invalid keyword value is an error naming the keyword), the hardware
// capabilities become what the NIC reports, and the current configuration is derived from
// the keywords.
func New(cfg Config) (*NIC, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &NIC{ctl: sa.NewController(int(cfg.Hardware.SaOffloadCapacity))}
	if err := n.ctl.SetImpl(cfg.CryptoImplementation); err != nil {
		return nil, err
	}
	hw, cur := cfg.Hardware, InitialConfig(cfg)
	n.hw.Store(&hw)
	n.cur.Store(&cur)
	n.bindings.Store(&[]*Binding{})
	return n, nil
}

// Close stops the NIC's control goroutine; OIDs after Close fail.
func (n *NIC) Close() { n.ctl.Close() }

// Controller is the SA store, for the data path (NewReader) and for reports (Snapshot).
func (n *NIC) Controller() *sa.Controller { return n.ctl }

// CurrentConfig returns the current configuration snapshot for the data path: a burst
// loads it once and checks ESPAllowed (R-TX-1, R-RX-1). The pointee is never modified.
func (n *NIC) CurrentConfig() *CurrentConfig { return n.cur.Load() }

// QueryCurrentConfig serves OID_TCP_OFFLOAD_CURRENT_CONFIG (R-CAP-6).
func (n *NIC) QueryCurrentConfig() CurrentConfig { return *n.cur.Load() }

// QueryHardwareCapabilities serves OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES (R-CAP-6).
func (n *NIC) QueryHardwareCapabilities() Capabilities { return *n.hw.Load() }

// Protocol is the host side of a binding (the protocol driver's ProtocolStatusEx role).
// Status is called once per status indication, on the goroutine that made the change,
// after the change is in effect; it may issue OIDs.
type Protocol interface {
	Status(StatusIndication)
}

// StatusIndication is NDIS_STATUS_INDICATION for the two offload indications. For
// NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG the buffer is the new current configuration; for
// NDIS_STATUS_TASK_OFFLOAD_HARDWARE_CAPABILITIES it is the new hardware capabilities. Both
// records are filled either way. Generation orders indications: a host that sees a smaller
// Generation than one it has already handled can drop it (indications from two concurrent
// OIDs may arrive in either order).
type StatusIndication struct {
	StatusCode   ndis.Status
	Config       CurrentConfig
	Capabilities Capabilities
	Generation   uint64
}

// BindParameters is the part of NDIS_BIND_PARAMETERS this model fills: the offload
// configuration the host starts from (R-CAP-4) and the hardware capabilities.
type BindParameters struct {
	DefaultOffloadConfiguration CurrentConfig
	HardwareCapabilities        Capabilities
	Generation                  uint64
}

// Binding is one host bound to the NIC.
type Binding struct {
	nic   *NIC
	proto Protocol
}

// Bind attaches a host. It returns the binding and the bind parameters, taken on the
// control goroutine so that the host misses no indication: every change after the one
// reflected in the parameters is indicated to it.
func (n *NIC) Bind(p Protocol) (*Binding, BindParameters, error) {
	b := &Binding{nic: n, proto: p}
	var bp BindParameters
	err := n.ctl.Run(func(*sa.Tx) {
		old := *n.bindings.Load()
		next := append(append(make([]*Binding, 0, len(old)+1), old...), b)
		n.bindings.Store(&next)
		bp = BindParameters{*n.cur.Load(), *n.hw.Load(), n.generation.Load()}
	})
	if err != nil {
		return nil, BindParameters{}, err
	}
	return b, bp, nil
}

// Unbind detaches the host; it receives no indication after Unbind returns.
func (b *Binding) Unbind() error {
	n := b.nic
	return n.ctl.Run(func(*sa.Tx) {
		old := *n.bindings.Load()
		next := make([]*Binding, 0, len(old))
		for _, x := range old {
			if x != b {
				next = append(next, x)
			}
		}
		n.bindings.Store(&next)
	})
}

// indicate delivers the indications made by one change to every host bound when the
// change was made.
func (n *NIC) indicate(to []*Binding, inds []StatusIndication) {
	for _, ind := range inds {
		for _, b := range to {
			b.proto.Status(ind)
		}
	}
}

// SetOffloadParameters serves OID_TCP_OFFLOAD_PARAMETERS (R-CAP-3): it changes the current
// configuration and, if anything changed, raises NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG to
// every bound host. A value out of range is NDIS_STATUS_INVALID_PARAMETER; enabling what the
// hardware lacks is NDIS_STATUS_NOT_SUPPORTED. SAs already offloaded stay (the NIC never
// removes one on its own, R-SA-8); the data path stops using them while ESP is disabled.
func (n *NIC) SetOffloadParameters(p OffloadParameters) (ndis.Status, error) {
	var (
		err  error
		to   []*Binding
		inds []StatusIndication
	)
	if rerr := n.ctl.Run(func(*sa.Tx) {
		var next CurrentConfig
		var changed bool
		next, changed, err = n.cur.Load().Apply(p, *n.hw.Load())
		if err != nil || !changed {
			return
		}
		n.cur.Store(&next)
		g := n.generation.Add(1)
		to = *n.bindings.Load()
		inds = []StatusIndication{{ndis.StatusTaskOffloadCurrentConfig, next, *n.hw.Load(), g}}
	}); rerr != nil {
		return ndis.StatusFailure, rerr
	}
	if err != nil {
		return offloadStatus(err), err
	}
	n.indicate(to, inds)
	return ndis.StatusSuccess, nil
}

func offloadStatus(err error) ndis.Status {
	switch {
	case errors.Is(err, ErrNotSupported):
		return ndis.StatusNotSupported
	case errors.Is(err, ErrInvalidParameter):
		return ndis.StatusInvalidParameter
	}
	return ndis.StatusFailure
}

// SetHardwareCapabilities models the MUX intermediate driver case (R-CAP-5): the hardware
// under the NIC changed. The new record is validated; the current configuration is narrowed
// to what the new hardware can do; SaOffloadCapacity follows (SAs beyond a lower capacity
// stay until the host deletes them, R-SA-8); NDIS_STATUS_TASK_OFFLOAD_HARDWARE_CAPABILITIES
// is raised to every bound host, followed by NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG if the
// current configuration changed with it.
func (n *NIC) SetHardwareCapabilities(c Capabilities) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("nic: new hardware capabilities: %w", err)
	}
	var (
		to   []*Binding
		inds []StatusIndication
	)
	err := n.ctl.Run(func(tx *sa.Tx) {
		hw := c
		cur := *n.cur.Load()
		next := narrow(cur, hw)
		n.hw.Store(&hw)
		g := n.generation.Add(1)
		inds = append(inds, StatusIndication{ndis.StatusTaskOffloadHardwareCapabilities, cur, hw, g})
		if next != cur {
			n.cur.Store(&next)
			g = n.generation.Add(1)
			inds = append(inds, StatusIndication{ndis.StatusTaskOffloadCurrentConfig, next, hw, g})
		}
		inds[0].Config = next
		to = *n.bindings.Load()
		tx.SetCapacity(int(hw.SaOffloadCapacity)) // SAs already offloaded stay
	})
	if err != nil {
		return err
	}
	n.indicate(to, inds)
	return nil
}

// narrow keeps the enable bits of the current configuration that the new hardware still
// has and takes everything else (the record's capability fields) from the new hardware.
func narrow(cur CurrentConfig, hw Capabilities) CurrentConfig {
	next := CurrentConfig{IPsecV2: hw}
	next.IPsecV2.Ah = hw.Ah && cur.IPsecV2.Ah
	next.IPsecV2.Esp = hw.Esp && cur.IPsecV2.Esp
	next.IPsecV2.AhEspCombined = hw.AhEspCombined && next.IPsecV2.Ah && next.IPsecV2.Esp
	next.IPv4Ah = hw.Ah && cur.IPv4Ah
	next.IPv4Esp = hw.Esp && cur.IPv4Esp
	return next
}
