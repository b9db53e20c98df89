package ring

// This file holds the non-blocking burst operations. Each moves items with at most two
// copy calls (the run up to the end of the slot array, then the run from its start) and
// publishes them with one atomic store, so the cross-core cost is paid once per burst.

// EnqueueBurst copies as many leading items as fit into the ring and returns how many
// that was (0 when the ring is full, when items is empty, or after Close). Producer only.
func (r *Ring[T]) EnqueueBurst(items []T) int {
	if len(items) == 0 || r.closedLocal {
		return 0
	}
	t, free := r.free(uint64(len(items)))
	n := min(uint64(len(items)), free)
	if n == 0 {
		return 0
	}
	r.publish(t, items[:n])
	return int(n)
}

// EnqueueAll copies all of items into the ring and reports true, or, when they do not
// all fit (including whenever len(items) exceeds Cap), copies none and reports false.
// An empty items reports true; after Close every call reports false. Producer only.
//
// All-or-nothing suits callers that must not split a group, such as the segments of one
// large send.
func (r *Ring[T]) EnqueueAll(items []T) bool {
	if len(items) == 0 {
		return !r.closedLocal
	}
	if r.closedLocal {
		return false
	}
	t, free := r.free(uint64(len(items)))
	if free < uint64(len(items)) {
		return false
	}
	r.publish(t, items)
	return true
}

// DequeueBurst moves up to len(dst) items from the ring into dst, oldest first, and
// returns how many it moved (0 when the ring is empty or dst is). The ring's slots are
// zeroed as they are taken, so that a ring of pointers does not keep buffers alive that
// the pipeline has long passed on. Consumer only.
func (r *Ring[T]) DequeueBurst(dst []T) int {
	if len(dst) == 0 {
		return 0
	}
	h, avail := r.available(uint64(len(dst)))
	n := min(uint64(len(dst)), avail)
	if n == 0 {
		return 0
	}
	r.consume(h, dst[:n])
	return int(n)
}

// DequeueAll fills all of dst from the ring and reports true, or, when the ring holds
// fewer than len(dst) items, takes none and reports false. An empty dst reports true.
// Consumer only.
func (r *Ring[T]) DequeueAll(dst []T) bool {
	if len(dst) == 0 {
		return true
	}
	h, avail := r.available(uint64(len(dst)))
	if avail < uint64(len(dst)) {
		return false
	}
	r.consume(h, dst)
	return true
}

// free returns the producer's tail and the number of free slots, refreshing headCache
// from the shared head only when the cached value shows fewer than want free slots.
// Producer only.
func (r *Ring[T]) free(want uint64) (tail, free uint64) {
	// Load of the producer's own counter: nobody else writes tail, so this only reads
	// back the producer's last Store in publish.
	t := r.tail.Load()
	size := uint64(len(r.buf))
	free = size - (t - r.headCache)
	if free < want {
		// acquire: pairs with the Store of head in consume, so the consumer has finished
		// reading (and clearing) every slot below the loaded head before we reuse it.
		r.headCache = r.head.Load()
		free = size - (t - r.headCache)
	}
	return t, free
}

// publish writes items into the slots from counter value t on and makes them visible to
// the consumer. The caller has checked that len(items) slots are free. Producer only.
func (r *Ring[T]) publish(t uint64, items []T) {
	i := t & r.mask
	first := copy(r.buf[i:], items)
	copy(r.buf, items[first:])
	// release: publishes slots [t, t+len(items)) to the consumer; pairs with the Load of
	// tail in available and in hasItems.
	r.tail.Store(t + uint64(len(items)))
	r.wakeConsumer()
}

// available returns the consumer's head and the number of filled slots, refreshing
// tailCache from the shared tail only when the cached value shows fewer than want items.
// Consumer only.
func (r *Ring[T]) available(want uint64) (head, avail uint64) {
	// Load of the consumer's own counter: nobody else writes head, so this only reads
	// back the consumer's last Store in consume.
	h := r.head.Load()
	avail = r.tailCache - h
	if avail < want {
		// acquire: pairs with the Store of tail in publish, so the slot writes below the
		// loaded tail are visible before we read them.
		r.tailCache = r.tail.Load()
		avail = r.tailCache - h
	}
	return h, avail
}

// consume copies the items at counter values [h, h+len(dst)) into dst, zeroes their
// slots and hands the slots back to the producer. The caller has checked that len(dst)
// items are there. Consumer only.
func (r *Ring[T]) consume(h uint64, dst []T) {
	i := h & r.mask
	first := copy(dst, r.buf[i:])
	clear(r.buf[i : i+uint64(first)])
	rest := copy(dst[first:], r.buf)
	clear(r.buf[:rest])
	// release: returns slots [h, h+len(dst)) to the producer, after the reads and the
	// clearing above; pairs with the Load of head in free and in hasSpace.
	r.head.Store(h + uint64(len(dst)))
	r.wakeProducer()
}
