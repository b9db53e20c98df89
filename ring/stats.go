package ring

// Stats is a snapshot of a ring's counters, for monitoring: a stage that parks often is
// starved (consumer) or blocked downstream (producer), which is the first thing to look
// at when a pipeline is slower than it should be.
type Stats struct {
	// Enqueued is the number of items ever enqueued.
	Enqueued uint64
	// Dequeued is the number of items ever dequeued.
	Dequeued uint64
	// ProducerWaits counts the times EnqueueWait found the ring full and had to wait,
	// once per wait however long it lasted.
	ProducerWaits uint64
	// ProducerParks counts the times the producer blocked on its channel, the slowest
	// kind of wait; each park may follow a wait or a spurious wake-up.
	ProducerParks uint64
	// ConsumerWaits counts the times DequeueWait found the ring empty and had to wait.
	ConsumerWaits uint64
	// ConsumerParks counts the times the consumer blocked on its channel.
	ConsumerParks uint64
}

// Stats returns the ring's counters. It may be called from any goroutine; the fields
// are read one at a time, so under traffic they need not be mutually consistent.
func (r *Ring[T]) Stats() Stats {
	// Enqueued and Dequeued are the indices themselves: keeping separate counters would
	// add an atomic read-modify-write to every burst for a number we already have.
	// The Loads pair with the Stores in publish and consume; the other Loads pair with
	// the Adds in EnqueueWait, DequeueWait and parkUntil.
	return Stats{
		Enqueued:      r.tail.Load(),
		Dequeued:      r.head.Load(),
		ProducerWaits: r.producerWaits.Load(),
		ProducerParks: r.producerParks.Load(),
		ConsumerWaits: r.consumerWaits.Load(),
		ConsumerParks: r.consumerParks.Load(),
	}
}
