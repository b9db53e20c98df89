package ring

import (
	"testing"
	"time"
)

// In poll mode the consumer keeps polling instead of parking: items that come within the
// poll time are taken without a single park, and once the poll time has passed with
// nothing, it parks as usual (and a later item still wakes it).
func TestConsumerPoll(t *testing.T) {
	r, _ := New[int](64)
	r.SetConsumerPoll(200 * time.Millisecond)
	got := make(chan int, 100)
	go func() {
		buf := make([]int, 8)
		for {
			n, err := r.DequeueWait(buf)
			if err != nil {
				close(got)
				return
			}
			for _, v := range buf[:n] {
				got <- v
			}
		}
	}()
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond) // well inside the poll time
		r.EnqueueBurst([]int{i})
		if v := <-got; v != i {
			t.Fatalf("got %d, want %d", v, i)
		}
	}
	if s := r.Stats(); s.ConsumerParks != 0 || s.ConsumerWaits == 0 {
		t.Fatalf("polling consumer: %d parks, %d waits; want 0 parks", s.ConsumerParks, s.ConsumerWaits)
	}
	time.Sleep(400 * time.Millisecond) // past the poll time: the consumer parks
	r.EnqueueBurst([]int{99})
	if v := <-got; v != 99 {
		t.Fatalf("got %d after the park, want 99", v)
	}
	if s := r.Stats(); s.ConsumerParks == 0 {
		t.Fatalf("no park after an idle %v: %+v", 400*time.Millisecond, s)
	}
	r.Close()
	if _, ok := <-got; ok {
		t.Fatal("an item after Close")
	}
}
