package localdb_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
	"github.com/examlane/examlane/localdb/seal"
)

var mockOnce sync.Once

// testKeychain is the OS keychain API over go-keyring's in-memory mock.
func testKeychain() *keychain.Keychain {
	mockOnce.Do(keyring.MockInit)
	k := keychain.New()
	k.SkipBusCheck = true
	return k
}

// fastKDF keeps passphrase tests quick; production uses seal.DefaultKDF.
var fastKDF = &seal.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func testConfig(t testing.TB) localdb.Config {
	return localdb.Config{Path: filepath.Join(t.TempDir(), localdb.FileName), Tenant: "practice-test",
		Clock: lanetest.NewManualClock(lanetest.T0), Keychain: testKeychain(), CheckpointEvery: 10}
}

func openDB(t testing.TB, cfg localdb.Config) *localdb.DB {
	t.Helper()
	db, err := localdb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDB(t testing.TB) *localdb.DB { return openDB(t, testConfig(t)) }

var ctx = context.Background()

var tech = lanetest.Tech

func savePatient(t testing.TB, db lane.Store, family, mrn string) lane.Patient {
	t.Helper()
	p, err := db.SavePatient(ctx, tech, lanetest.SyntheticPatient(family, mrn))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
