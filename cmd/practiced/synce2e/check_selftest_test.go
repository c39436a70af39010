package synce2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/examlane/examlane/lane"
)

// recorder is a testing.TB that collects Error/Errorf instead of failing,
// so that a test can show the acceptance check fails when it should.
// Fatal and the rest go to the real test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Error(args ...any)         { r.add(fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, a ...any) { r.add(fmt.Sprintf(f, a...)) }

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.errs = append(r.errs, s)
	r.mu.Unlock()
}

// saw reports whether some collected error contains want.
func (r *recorder) saw(want string) bool {
	for _, e := range r.errs {
		if strings.Contains(e, want) {
			return true
		}
	}
	return false
}

// TestCheckerCatchesFaults shows that checkDelivered, the acceptance
// criterion of every test here, passes a clean lane and fails each kind of
// damage it exists to find.
func TestCheckerCatchesFaults(t *testing.T) {
	s := newScenario(t, laneOptions{}, nil)
	s.l.drain(5, nil)
	s.l.sync()
	check := func(o checkOptions) *recorder {
		r := &recorder{TB: t}
		checkDelivered(r, s.p, s.l, o)
		return r
	}
	expect := func(name string, r *recorder, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !r.saw(w) {
				t.Errorf("%s: the check did not report %q; it reported %q", name, w, r.errs)
			}
		}
	}
	if r := check(checkOptions{gone: s.gone}); len(r.errs) != 0 {
		t.Fatalf("a clean lane fails the check: %q", r.errs)
	}

	// A local change not delivered.
	ch, err := s.l.db.Chart(bg, s.patient.ID)
	must(t, err)
	var mine, seeded lane.Measurement
	for _, m := range ch.Measurements {
		if m.EncounterID == s.enc.ID {
			mine = m
		} else {
			seeded = m
		}
	}
	mine.Note = "changed, not yet sent"
	mine = s.l.save(s.l.tech, mine).(lane.Measurement)
	expect("undelivered change", check(checkOptions{gone: s.gone}), "outbox holds")
	s.l.drain(3, nil)

	// A server change the lane has not pulled.
	sid, _, _ := s.l.db.ServerRef(bg, lane.EntityMeasurement, string(seeded.ID))
	s.p.edit("Observation", sid, func(o map[string]any) { o["note"] = []any{map[string]any{"text": "changed on the server"}} })
	expect("missed server change", check(checkOptions{gone: s.gone}), "lane believes", "differ in [Note]")
	s.l.sync()

	// A deleted record still live.
	expect("deletion not applied", check(checkOptions{gone: []string{"Observation/" + sid}}), "want 410")

	// A change applied twice: the same change id in two versions.
	msid, _, _ := s.l.db.ServerRef(bg, lane.EntityMeasurement, string(mine.ID))
	s.p.edit("Observation", msid, func(map[string]any) {})
	expect("change applied twice", check(checkOptions{gone: s.gone}), "applied twice")
	s.l.sync()

	// A lane record on the server twice.
	st, body := s.p.get("Observation/" + msid)
	if st != http.StatusOK {
		t.Fatalf("read: %d", st)
	}
	var copyRes map[string]any
	must(t, json.Unmarshal(body, &copyRes))
	delete(copyRes, "id")
	delete(copyRes, "meta")
	raw, _ := json.Marshal(copyRes)
	if st, b := s.p.do(http.MethodPost, "Observation", raw, nil); st != http.StatusCreated {
		t.Fatalf("post a copy: %d %s", st, b)
	}
	expect("duplicate", check(checkOptions{gone: s.gone}), "on the server as", "on two Observation resources", "but not on the lane")
}
