package syncclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/synctest"
)

// batchStore is testStore with the batch interfaces, done record by record
// over the in-memory store (localdb does them in one transaction; its own
// tests cover that). It counts calls, and fail makes ApplyRemoteBatch fail
// as a whole (nothing stored), as a failed transaction does.
type batchStore struct {
	*testStore
	mu            sync.Mutex
	batches       int
	largest       int
	marks, marked int
	fail          error
}

var (
	_ syncclient.BatchApplier = (*batchStore)(nil)
	_ syncclient.BatchMarker  = (*batchStore)(nil)
)

func (s *batchStore) ApplyRemoteBatch(ctx context.Context, recs []lane.RemoteRecord) ([]error, error) {
	s.mu.Lock()
	s.batches++
	s.largest = max(s.largest, len(recs))
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	errs := make([]error, len(recs))
	for i, r := range recs {
		var err error
		if img, ok := r.Rec.(lane.Image); ok && r.Data != nil {
			err = s.ApplyRemoteImage(ctx, img, r.Data, r.ServerID, r.ServerVersion)
		} else {
			err = s.ApplyRemote(ctx, r.Rec, r.ServerID, r.ServerVersion)
		}
		if err != nil && !errors.Is(err, lane.ErrConflict) && !errors.Is(err, lane.ErrNotFound) {
			return nil, err // the in-memory store has no rollback; tests do not reach this
		}
		errs[i] = err
	}
	return errs, nil
}

func (s *batchStore) MarkPushedBatch(ctx context.Context, ds []lane.Delivered) error {
	s.mu.Lock()
	s.marks++
	s.marked += len(ds)
	s.mu.Unlock()
	for _, d := range ds {
		if err := s.MarkPushed(ctx, d.Seq, d.ServerID, d.ServerVersion); err != nil {
			return err
		}
	}
	return nil
}

// pulledCounts is what a pull stored, by entity.
func pulledCounts(s *testStore) string {
	return fmt.Sprintf("patients %d, encounters %d, measurements %d, prescriptions %d",
		len(s.Records(lane.EntityPatient)), len(s.Records(lane.EntityEncounter)),
		len(s.Records(lane.EntityMeasurement)), len(s.Records(lane.EntitySpectacleRx)))
}

// TestPullBatchAndFallback pulls the same server into a store that applies
// batches and into one that does not: the same records arrive, the batch
// store gets few calls, and a server change pulled over an undelivered local
// change becomes a conflict on both paths.
func TestPullBatchAndFallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch bool
	}{{"record by record", false}, {"batches", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, synctest.Options{})
			var bs *batchStore
			r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) {
				if tc.batch {
					bs = &batchStore{testStore: c.Store.(*testStore)}
					c.Store = bs
				}
			})
			var pids []string
			for i := 0; i < 3; i++ {
				p := seedPatient(t, srv, i+1, "loc-1", r.today(9+i, 0))
				seedChart(t, srv, p, 2, 3, r.clock.Now())
				pids = append(pids, p)
			}
			r.mustSync()
			if got, want := pulledCounts(r.store), "patients 3, encounters 6, measurements 18, prescriptions 6"; got != want {
				t.Fatalf("pulled %s, want %s", got, want)
			}
			if tc.batch && (bs.batches == 0 || bs.batches > 2+len(pids)) {
				t.Errorf("%d batches, want 1..%d (patients, schedule, one per chart at most)", bs.batches, 2+len(pids))
			}

			// A local edit the server refuses for now (400: the push
			// skips it, the pull runs), then the server changes the same
			// patient: the pull must not apply it over the edit.
			pat, _ := r.store.Get(lane.EntityPatient, pids[0])
			p := pat.(lane.Patient)
			p.Phone = "555 0100"
			r.save(tech, p)
			if _, err := srv.Update("Patient", pids[0], func(m map[string]any) { m["gender"] = "other" }); err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(time.Minute)
			srv.SetFault(func(req *http.Request) synctest.Fault {
				if req.Method != http.MethodGet {
					return synctest.Fault{Status: http.StatusBadRequest}
				}
				return synctest.Fault{}
			})
			_ = r.client.SyncNow(context.Background())
			srv.SetFault(nil)
			cs, err := r.store.Conflicts(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].EntityID != pids[0] || !strings.Contains(string(cs[0].Theirs), `"other"`) {
				t.Fatalf("conflicts = %+v, want one on patient %s holding the server's version", cs, pids[0])
			}
			got, _ := r.store.Get(lane.EntityPatient, pids[0])
			if got.(lane.Patient).Phone != "555 0100" {
				t.Error("the local edit was overwritten")
			}
		})
	}
}

// TestPullFailedBatchRefetches: a batch whose transaction fails stores
// nothing and moves no watermark, so the next pull fetches it all again.
func TestPullFailedBatchRefetches(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	var bs *batchStore
	r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) {
		bs = &batchStore{testStore: c.Store.(*testStore), fail: fmt.Errorf("disk went away: %w", lane.ErrUnavailable)}
		c.Store = bs
	})
	p := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	seedChart(t, srv, p, 2, 3, r.clock.Now())
	if err := r.client.SyncNow(context.Background()); err == nil {
		t.Fatal("SyncNow succeeded with a failing store")
	}
	if got := pulledCounts(r.store); got != "patients 0, encounters 0, measurements 0, prescriptions 0" {
		t.Fatalf("after a failed batch: %s", got)
	}
	for _, k := range []string{"chart:" + p, "type:Patient"} {
		if wm, _ := r.store.Watermark(context.Background(), k); wm != "" {
			t.Errorf("watermark %s = %q after a failed batch, want none", k, wm)
		}
	}
	bs.mu.Lock()
	bs.fail = nil
	bs.mu.Unlock()
	r.mustSync()
	if got, want := pulledCounts(r.store), "patients 1, encounters 2, measurements 6, prescriptions 2"; got != want {
		t.Fatalf("after the retry: %s, want %s", got, want)
	}
}

// TestPushMarksInBatches: a store with MarkPushedBatch gets the entries of
// each delivered transaction in one call; one without gets MarkPushed per
// entry (the other tests), and both drain.
func TestPushMarksInBatches(t *testing.T) {
	srv := newServer(t, synctest.Options{})
	var bs *batchStore
	r := newLane(t, srv, "Lane 1", func(c *syncclient.Config) {
		bs = &batchStore{testStore: c.Store.(*testStore)}
		c.Store = bs
	})
	pid := seedPatient(t, srv, 1, "loc-1", r.today(9, 0))
	r.mustSync()
	for n := 0; n < 120; n++ {
		r.save(tech, newMeasurement(lane.PatientID(pid), n))
	}
	entries := len(r.store.Outbox())
	r.syncUntilDrained(3)
	if bs.marked != entries {
		t.Errorf("marked %d entries, want %d", bs.marked, entries)
	}
	// 120 creates go fifty records to a transaction: a handful of calls
	if bs.marks == 0 || bs.marks > entries/10 {
		t.Errorf("%d MarkPushedBatch calls for %d entries", bs.marks, entries)
	}
	if n := srv.Count("Observation"); n != 120 {
		t.Errorf("server has %d observations, want 120", n)
	}
}
