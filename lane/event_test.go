package lane_test

import (
	"sync"
	"testing"

	"github.com/examlane/examlane/lane"
)

func TestBusDeliversAndNeverBlocks(t *testing.T) {
	var b lane.Bus
	fast := b.Subscribe(10)
	slow := b.Subscribe(1)
	for i := 0; i < 5; i++ {
		b.Publish(lane.LockChanged{Locked: i%2 == 0})
	}
	if got := len(fast.C); got != 5 {
		t.Fatalf("fast subscriber has %d events, want 5", got)
	}
	if got := slow.Dropped(); got != 4 {
		t.Fatalf("slow subscriber dropped %d, want 4", got)
	}
	first := <-fast.C
	if lc, ok := first.(lane.LockChanged); !ok || !lc.Locked {
		t.Fatalf("first event = %#v", first)
	}
	fast.Close()
	fast.Close() // idempotent
	if _, ok := <-fast.C; ok {
		// drain remaining buffered events, then the channel must be closed
		for range fast.C {
		}
	}
	b.Publish(lane.LockChanged{}) // must not panic on a closed subscriber
}

func TestBusConcurrent(t *testing.T) {
	var b lane.Bus
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				b.Publish(lane.SyncChanged{})
			}
		}()
		go func() {
			defer wg.Done()
			s := b.Subscribe(4)
			for j := 0; j < 10; j++ {
				select {
				case <-s.C:
				default:
				}
			}
			s.Close()
		}()
	}
	wg.Wait()
}
