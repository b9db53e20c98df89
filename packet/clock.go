package packet

import "time"

// epoch is the origin of Now: the process start, read once.
var epoch = time.Now()

// Now is the NIC's clock for Buffer.Stamp: nanoseconds since the process started, from the
// monotonic clock, so differences are latencies unaffected by wall-clock steps.
func Now() int64 { return int64(time.Since(epoch)) }
