package lanetest_test

import (
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

func TestFakeStore(t *testing.T) {
	lanetest.RunStoreSuite(t, func(t *testing.T) lane.Store {
		return lanetest.NewStore(lanetest.NewManualClock(lanetest.T0))
	})
}

func TestFakeSyncStore(t *testing.T) {
	lanetest.RunSyncStoreSuite(t, func(t *testing.T) lanetest.FullStore {
		return lanetest.NewStore(lanetest.NewManualClock(lanetest.T0))
	})
}

func TestManualClock(t *testing.T) {
	c := lanetest.NewManualClock(lanetest.T0)
	if !c.Now().Equal(lanetest.T0) {
		t.Fatalf("Now = %v", c.Now())
	}
	if got := c.Advance(90e9); !got.Equal(lanetest.T0.Add(90e9)) || !c.Now().Equal(got) {
		t.Fatalf("Advance = %v", got)
	}
	c.Set(lanetest.T0)
	if !c.Now().Equal(lanetest.T0) {
		t.Fatal("Set did not move the clock")
	}
}
