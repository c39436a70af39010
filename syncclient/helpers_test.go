package syncclient_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"github.com/examlane/examlane/lane/lanetest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

var (
	_ syncclient.Store         = (*testStore)(nil)
	_ syncclient.ImageReceiver = (*testStore)(nil)
)

// testStore is the lane's store in these tests: lanetest.Store (the
// in-memory store with localdb's semantics) plus the bytes of pulled images
// and a few conveniences.
type testStore struct {
	*lanetest.Store
	mu     sync.Mutex
	pulled map[lane.ImageID][]byte
}

func newTestStore(clock lane.Clock) *testStore {
	return &testStore{Store: lanetest.NewStore(clock), pulled: map[lane.ImageID][]byte{}}
}

// ApplyRemoteImage implements syncclient.ImageReceiver.
func (s *testStore) ApplyRemoteImage(ctx context.Context, img lane.Image, data []byte, serverID, serverVersion string) error {
	if err := s.ApplyRemote(ctx, img, serverID, serverVersion); err != nil {
		return err
	}
	s.mu.Lock()
	s.pulled[img.ID] = append([]byte(nil), data...)
	s.mu.Unlock()
	return nil
}

// ImageData returns pulled bytes, else the store's.
func (s *testStore) ImageData(ctx context.Context, id lane.ImageID) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.pulled[id]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	return s.Store.ImageData(ctx, id)
}

// Save writes a local change through the lane.Store method for its type.
func (s *testStore) Save(by lane.Actor, rec any) (any, error) {
	ctx := context.Background()
	switch r := rec.(type) {
	case lane.Patient:
		return s.SavePatient(ctx, by, r)
	case lane.Appointment:
		return s.SaveAppointment(ctx, by, r)
	case lane.Encounter:
		return s.SaveEncounter(ctx, by, r)
	case lane.Measurement:
		return s.SaveMeasurement(ctx, by, r)
	case lane.SpectacleRx:
		return s.SaveSpectacleRx(ctx, by, r)
	case lane.Image:
		return s.SaveImage(ctx, by, r, nil)
	}
	return nil, fmt.Errorf("test store: cannot save %T", rec)
}

// Delete deletes a measurement locally.
func (s *testStore) Delete(by lane.Actor, entity, id string) error {
	rec, ok := s.Get(entity, id)
	if !ok || entity != lane.EntityMeasurement {
		return fmt.Errorf("test store: delete %s %s", entity, id)
	}
	by.Reason = "entered in error"
	return s.DeleteMeasurement(context.Background(), by, lane.MeasurementID(id), rec.(lane.Measurement).Version)
}

// Get returns the current local record (a tombstone when deleted).
func (s *testStore) Get(entity, id string) (any, bool) {
	rec, err := s.Record(context.Background(), entity, id)
	return rec, err == nil
}

// Records returns the live records of an entity across the charts of every
// patient with an appointment.
func (s *testStore) Records(entity string) []any {
	ctx := context.Background()
	appts, _ := s.ListAppointments(ctx, lane.AppointmentFilter{})
	seen := map[lane.PatientID]bool{}
	var out []any
	for _, a := range appts {
		if seen[a.PatientID] {
			continue
		}
		seen[a.PatientID] = true
		ch, err := s.Chart(ctx, a.PatientID)
		if err != nil {
			continue
		}
		switch entity {
		case lane.EntityPatient:
			out = append(out, ch.Patient)
		case lane.EntityEncounter:
			for _, r := range ch.Encounters {
				out = append(out, r)
			}
		case lane.EntityMeasurement:
			for _, r := range ch.Measurements {
				out = append(out, r)
			}
		case lane.EntitySpectacleRx:
			for _, r := range ch.Prescriptions {
				out = append(out, r)
			}
		case lane.EntityImage:
			for _, r := range ch.Images {
				out = append(out, r)
			}
		}
	}
	return out
}

// Outbox returns the undelivered entries (parked ones excluded).
func (s *testStore) Outbox() []lane.OutboxEntry {
	p, _ := s.PendingChanges(context.Background(), 0)
	return p
}

// AppliedRemote counts the records stored from the server (the store audits
// each as the sync user).
func (s *testStore) AppliedRemote() int {
	ev, _ := s.ListAudit(context.Background(), lane.AuditFilter{User: "sync"})
	return len(ev)
}

// lane1 is the actor of local changes in tests.
var tech = lane.Actor{User: "tech-1", Roles: []lane.Role{lane.RoleTechnician}, Lane: "Lane 1"}
var optom = lane.Actor{User: "dr-1", Roles: []lane.Role{lane.RoleOptometrist}, Lane: "Lane 1"}

// serverModes are the two ways a server takes the lane's writes: in
// transaction Bundles, and (a server without transactions) by plain REST.
var serverModes = []struct {
	name string
	opts synctest.Options
}{{"transaction", synctest.Options{}}, {"plain REST", synctest.Options{NoTransactions: true}}}

// rig is one lane (store, clock, client) against a server.
type rig struct {
	t      testing.TB
	srv    *synctest.Server
	store  *testStore
	clock  *synctest.Clock
	client *syncclient.Client
	cfg    syncclient.Config
}

// newServer starts a synctest server (HTTPS with mTLS unless opts.Plain).
func newServer(t testing.TB, opts synctest.Options) *synctest.Server {
	t.Helper()
	srv, err := synctest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// newLane enrols a lane with srv (real enrolment exchange) and builds its
// client; mod adjusts the configuration.
func newLane(t testing.TB, srv *synctest.Server, name string, mod func(*syncclient.Config)) *rig {
	t.Helper()
	base := syncclient.Config{ServerURL: srv.URL, Insecure: true, LaneID: "lane-" + name, LaneName: name, Location: "loc-1"}
	if srv.PKI != nil {
		code := synctest.NewEnrollCode()
		srv.AddEnrollCode(code, "tenant-1", "Test Practice", "loc-1", name)
		e, err := syncclient.Enroll(context.Background(), srv.URL, code, name)
		if err != nil {
			t.Fatalf("enrol: %v", err)
		}
		if base, err = e.Config(); err != nil {
			t.Fatal(err)
		}
	}
	r := laneAt(t, srv.URL, func(c *syncclient.Config) {
		store, clock, jitter := c.Store, c.Clock, c.Jitter
		*c = base
		c.Store, c.Clock, c.Jitter, c.RequestTimeout = store, clock, jitter, 5*time.Second
		if mod != nil {
			mod(c)
		}
	})
	r.srv = srv
	return r
}

// laneAt builds a lane against any FHIR server by URL (no enrolment, no
// fault injection): the Medplum test uses it, and a practiced-based test can.
func laneAt(t testing.TB, serverURL string, mod func(*syncclient.Config)) *rig {
	t.Helper()
	clock := synctest.NewClock(timeNow())
	store := newTestStore(clock)
	cfg := syncclient.Config{ServerURL: serverURL, Store: store, Clock: clock, Jitter: func() float64 { return 0.5 }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := syncclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, store: store, clock: clock, client: c, cfg: cfg}
}

// syncUntilDrained runs cycles until the outbox is empty, failing after n.
func (r *rig) syncUntilDrained(n int) {
	r.t.Helper()
	var last error
	for i := 0; i < n; i++ {
		last = r.client.SyncNow(context.Background())
		if last == nil && len(r.store.Outbox()) == 0 {
			return
		}
	}
	r.t.Fatalf("outbox not drained after %d cycles: %d left, last error %v", n, len(r.store.Outbox()), last)
}

func (r *rig) mustSync() {
	r.t.Helper()
	if err := r.client.SyncNow(context.Background()); err != nil {
		r.t.Fatalf("SyncNow: %v", err)
	}
}

func (r *rig) save(by lane.Actor, rec any) any {
	r.t.Helper()
	out, err := r.store.Save(by, rec)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// today returns a time on the lane's current day at hh:mm (lane clock
// zone).
func (r *rig) today(hh, mm int) time.Time {
	n := r.clock.Now()
	return time.Date(n.Year(), n.Month(), n.Day(), hh, mm, 0, 0, n.Location())
}

// seedPatient creates a patient on the server (as the practice system
// would) with an appointment at loc at start, and returns the patient's
// server id.
func seedPatient(t testing.TB, srv *synctest.Server, n int, loc string, start time.Time) string {
	t.Helper()
	m := fhir.Mapper{}
	p := m.Patient(lane.Patient{MRN: fmt.Sprintf("TEST-%04d", n), Name: lane.Name{Family: fmt.Sprintf("Synthetic%d", n), Given: []string{"Pat"}},
		BirthDate: lane.Date{Year: 1970 + n%40, Month: 1 + time.Month(n%12), Day: 1 + n%28}, Sex: lane.SexUnknown})
	p.Identifier = p.Identifier[:1] // server-born: no lane id
	pid, _, err := srv.Seed(p)
	if err != nil {
		t.Fatal(err)
	}
	a := m.Appointment(lane.Appointment{PatientID: lane.PatientID(pid), Start: start, End: start.Add(30 * time.Minute),
		Location: loc, Provider: "dr-1", Reason: "Routine eye exam", Status: lane.ApptBooked})
	a.Identifier = nil
	if _, _, err := srv.Seed(a); err != nil {
		t.Fatal(err)
	}
	return pid
}

// seedChart adds encounters, observations and prescriptions for a patient.
func seedChart(t testing.TB, srv *synctest.Server, pid string, encounters, obsPer int, at time.Time) {
	t.Helper()
	m := fhir.Mapper{}
	for e := 0; e < encounters; e++ {
		enc := m.Encounter(lane.Encounter{PatientID: lane.PatientID(pid), Status: lane.EncDone, Start: at.AddDate(-e-1, 0, 0), Location: "loc-1", Clinician: "dr-1", Assessment: "Stable"})
		enc.Identifier = nil
		eid, _, err := srv.Seed(enc)
		if err != nil {
			t.Fatal(err)
		}
		for o := 0; o < obsPer; o++ {
			ms := lane.Measurement{PatientID: lane.PatientID(pid), EncounterID: lane.EncounterID(eid), Kind: lane.KindRefraction,
				Eye: lane.Eye(1 + o%2), Source: lane.SourceAutorefraction, ReceivedAt: at.AddDate(-e-1, 0, 0),
				Refraction: &lane.Refraction{Sphere: lane.Diopters(-250 * (o%8 + 1)), Cylinder: -500, Axis: lane.Axis(1 + o*7%180)}}
			if o%3 == 2 {
				ms.Kind, ms.Refraction, ms.IOP = lane.KindIOP, nil, &lane.IOP{Pressure: lane.MmHg(120 + o), Method: lane.IOPNonContact}
			}
			obs, err := m.Observation(ms)
			if err != nil {
				t.Fatal(err)
			}
			obs.Identifier = nil
			if _, _, err := srv.Seed(obs); err != nil {
				t.Fatal(err)
			}
		}
		rx, err := m.SpectacleRx(lane.SpectacleRx{PatientID: lane.PatientID(pid), EncounterID: lane.EncounterID(eid),
			Right: lane.Refraction{Sphere: -1250}, Left: lane.Refraction{Sphere: -1000}, Issued: lane.DateOf(at), Prescriber: "dr-1"})
		if err != nil {
			t.Fatal(err)
		}
		rx.Identifier = nil
		if _, _, err := srv.Seed(rx); err != nil {
			t.Fatal(err)
		}
	}
}

// serverRecord reads the lane record a server resource maps to.
func serverRecord(t testing.TB, raw []byte) any {
	t.Helper()
	res, err := fhir.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := fhir.Mapper{}.FromFHIR(res)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// assertExactlyOnce checks that every lane-created record in ids exists
// exactly once on the server, that no change was applied twice, and that
// the outbox is empty.
func assertExactlyOnce(t testing.TB, r *rig, typ string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if got := r.srv.FindByLaneID(typ, id); len(got) != 1 {
			t.Errorf("%s with lane id %s is on the server %d times, want once", typ, id, len(got))
		}
	}
	seen := map[string]int{}
	for _, w := range r.srv.Writes() {
		if w.ChangeID != "" && w.Type == typ {
			seen[w.ChangeID]++
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("change %s applied %d times", k, n)
		}
	}
	if n := len(r.store.Outbox()); n != 0 {
		t.Errorf("outbox holds %d entries, want 0", n)
	}
}

func newMeasurement(pid lane.PatientID, n int) lane.Measurement {
	return lane.Measurement{
		ID: lane.MeasurementID(lane.NewID()), PatientID: pid, Kind: lane.KindRefraction, Eye: lane.EyeRight,
		Source: lane.SourceAutorefraction, ReceivedAt: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC),
		Refraction: &lane.Refraction{Sphere: lane.Diopters(-25 * (n % 400)), Cylinder: -250, Axis: lane.Axis(1 + n%180)},
		Note:       fmt.Sprintf("n=%d", n),
	}
}

func jsonHas(t testing.TB, raw []byte, want string) bool {
	t.Helper()
	return strings.Contains(string(raw), want)
}

func prettyJSON(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func timeNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func must2(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
