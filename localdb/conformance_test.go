package localdb_test

import (
	"testing"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
)

func TestStoreConformance(t *testing.T) {
	lanetest.RunStoreSuite(t, func(t *testing.T) lane.Store { return newDB(t) })
}

func TestSyncStoreConformance(t *testing.T) {
	lanetest.RunSyncStoreSuite(t, func(t *testing.T) lanetest.FullStore { return newDB(t) })
}
