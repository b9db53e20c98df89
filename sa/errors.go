package sa

import (
	"errors"

	"github.com/ov2dev/ov2/ndis"
)

// Reasons a bundle is not offloaded or an OID fails. Each failure carries one of these,
// wrapped with the details (which SPI, which field, which value), so callers test with
// errors.Is and people read the message.
var (
	ErrCapacity      = errors.New("sa: SaOffloadCapacity reached")
	ErrAlgorithm     = errors.New("sa: algorithm not advertised")
	ErrCapability    = errors.New("sa: not in the NIC's capabilities")
	ErrKeyLength     = errors.New("sa: key length wrong")
	ErrDuplicate     = errors.New("sa: duplicate inbound SPI and destination")
	ErrDisabled      = errors.New("sa: offload disabled by the current configuration")
	ErrMalformed     = errors.New("sa: malformed request")
	ErrStaleHandle   = errors.New("sa: unknown or stale offload handle")
	ErrNoESN         = errors.New("sa: SA does not use extended sequence numbers")
	ErrNoneOffloaded = errors.New("sa: no bundle was offloaded")
	ErrClosed        = errors.New("sa: controller closed")
)

// StatusOf maps a failure to the NDIS_STATUS an OID request completes with.
func StatusOf(err error) ndis.Status {
	switch {
	case err == nil:
		return ndis.StatusSuccess
	case errors.Is(err, ErrCapacity):
		return ndis.StatusResources
	case errors.Is(err, ErrAlgorithm), errors.Is(err, ErrCapability), errors.Is(err, ErrDisabled):
		return ndis.StatusNotSupported
	case errors.Is(err, ErrKeyLength), errors.Is(err, ErrMalformed),
		errors.Is(err, ErrStaleHandle), errors.Is(err, ErrNoESN), errors.Is(err, ErrDuplicate):
		return ndis.StatusInvalidParameter
	}
	return ndis.StatusFailure
}
