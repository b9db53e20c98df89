package packet

import "testing"

// GetBurst and ReleaseBurst count and recycle as Get and Release do, one pool lock each.
func TestPoolBurst(t *testing.T) {
	p, q := NewPool(SmallSize), NewPool(LargeSize)
	p.Reserve(5)
	bs := make([]*Buffer, 8)
	p.GetBurst(bs) // 5 from the pool, 3 new
	seen := map[*Buffer]bool{}
	for _, b := range bs {
		if b == nil || b.pool != p || b.inPool.Load() || b.Len() != 0 || seen[b] {
			t.Fatalf("GetBurst gave %p", b)
		}
		seen[b] = true
		b.Append(10)
	}
	if st := p.Stats(); st.Gets != 8 || st.News != 8 || st.Puts != 0 {
		t.Errorf("after GetBurst: %+v", st)
	}
	// Runs of two pools and an unpooled buffer, released together.
	mixed := append([]*Buffer{q.Get(), NewBuffer(64)}, bs[:4]...)
	mixed = append(mixed, q.Get())
	mixed = append(mixed, bs[4:]...)
	ReleaseBurst(mixed)
	if st := p.Stats(); st.Puts != 8 || len(p.free) != 8 {
		t.Errorf("pool after ReleaseBurst: %+v, %d free", st, len(p.free))
	}
	if st := q.Stats(); st.Gets != 2 || st.Puts != 2 {
		t.Errorf("other pool after ReleaseBurst: %+v", st)
	}
	for _, b := range bs {
		if !b.inPool.Load() || b.Len() != 0 {
			t.Fatalf("released buffer not reset or not in the pool")
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a double ReleaseBurst did not panic")
			}
		}()
		ReleaseBurst(bs[:1])
	}()
	if n := testing.AllocsPerRun(100, func() { p.GetBurst(bs); ReleaseBurst(bs) }); n != 0 {
		t.Errorf("%v allocations per GetBurst and ReleaseBurst", n)
	}
}
