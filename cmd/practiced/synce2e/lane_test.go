package synce2e_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/syncclient/fhir"
	"github.com/examlane/examlane/syncclient/synctest"
)

// slowdown scales request timeouts: the race detector makes SQLite
// (transpiled C) many times slower on both sides (see race_test.go).
var slowdown = 1

var mockOnce sync.Once

// testKeychain is localdb's keychain over go-keyring's in-memory mock. The
// mock is not safe for concurrent use; lanes are opened one at a time.
func testKeychain() *keychain.Keychain {
	mockOnce.Do(keyring.MockInit)
	k := keychain.New()
	k.SkipBusCheck = true
	return k
}

// laneRig is one enrolled exam lane: its encrypted store, clock and sync
// client.
type laneRig struct {
	t      testing.TB
	name   string
	en     syncclient.Enrollment
	db     *localdb.DB
	clock  *synctest.Clock
	cfg    syncclient.Config
	client *syncclient.Client
	tech   lane.Actor
	optom  lane.Actor
}

// laneOptions shape a lane.
type laneOptions struct {
	now       time.Time     // lane clock start (wall clock when zero)
	serverURL string        // e.g. a proxy in front of practiced
	timeout   time.Duration // request timeout (5 s × slowdown when zero)
	allSites  bool          // pull every location's schedule
	images    bool          // FetchImages
	logf      func(string, ...any)
}

// newLane enrols a lane at the practice's site and opens its store.
func (p *practice) newLane(t testing.TB, name string, o laneOptions) *laneRig {
	t.Helper()
	loc := p.site
	en := p.enrol(t, name, loc)
	if o.now.IsZero() {
		o.now = time.Now().UTC().Truncate(time.Millisecond)
	}
	clock := synctest.NewClock(o.now)
	db, err := localdb.Open(bg, localdb.Config{
		Path: filepath.Join(t.TempDir(), localdb.FileName), Tenant: en.Tenant, Clock: clock, Keychain: testKeychain(),
	})
	if err != nil {
		t.Fatalf("localdb.Open: %v", err)
	}
	if ks := db.KeySource(); ks != localdb.KeySourceKeychain {
		t.Fatalf("lane store protected by %q, want the keychain", ks)
	}
	cfg, err := en.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Clock, cfg.Jitter = db, clock, func() float64 { return 0.5 }
	cfg.RequestTimeout = time.Duration(slowdown) * 5 * time.Second
	if o.timeout > 0 {
		cfg.RequestTimeout = o.timeout
	}
	if o.serverURL != "" {
		cfg.ServerURL = o.serverURL
	}
	if o.allSites {
		cfg.Location = ""
	}
	cfg.FetchImages = o.images
	cfg.Logf = o.logf
	c, err := syncclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dev := en.LaneID
	return &laneRig{t: t, name: name, en: en, db: db, clock: clock, cfg: cfg, client: c,
		tech:  lane.Actor{User: p.tech, Roles: []lane.Role{lane.RoleTechnician}, Lane: name, Device: dev},
		optom: lane.Actor{User: p.optom, Roles: []lane.Role{lane.RoleOptometrist}, Lane: name, Device: dev}}
}

// sync runs one cycle and fails the test on error.
func (l *laneRig) sync() {
	l.t.Helper()
	if err := l.client.SyncNow(bg); err != nil {
		l.t.Fatalf("%s: SyncNow: %v", l.name, err)
	}
}

// drain runs cycles until one succeeds with an empty outbox, calling
// before(i) ahead of attempt i; it fails after max attempts and returns how
// many failed.
func (l *laneRig) drain(max int, before func(i int)) (failed int) {
	l.t.Helper()
	var last error
	for i := 0; i < max; i++ {
		if before != nil {
			before(i)
		}
		last = l.client.SyncNow(bg)
		if last != nil {
			failed++
			continue
		}
		if n, _ := l.db.PendingCount(bg); n == 0 {
			return failed
		}
	}
	n, _ := l.db.PendingCount(bg)
	l.t.Fatalf("%s: outbox not drained after %d cycles: %d left, last error %v", l.name, max, n, last)
	return failed
}

// today returns hh:mm on the lane clock's day.
func (l *laneRig) today(hh, mm int) time.Time {
	n := l.cfg.Clock.Now()
	return time.Date(n.Year(), n.Month(), n.Day(), hh, mm, 0, 0, n.Location())
}

// schedule returns the lane's appointments today, by start.
func (l *laneRig) schedule() []lane.Appointment {
	l.t.Helper()
	from := l.today(0, 0)
	as, err := l.db.ListAppointments(bg, lane.AppointmentFilter{From: from, To: from.AddDate(0, 0, 1)})
	if err != nil {
		l.t.Fatal(err)
	}
	return as
}

// localRecord is one local record with its entity and id.
type localRecord struct {
	entity, id string
	rec        any
}

// allRecords returns every live record of every local patient's chart.
func (l *laneRig) allRecords() []localRecord {
	l.t.Helper()
	ps, err := l.db.FindPatients(bg, lane.PatientQuery{})
	if err != nil {
		l.t.Fatal(err)
	}
	var out []localRecord
	add := func(rec any) {
		entity, id, ok := fhir.EntityOf(rec)
		if !ok {
			l.t.Fatalf("no entity for %T", rec)
		}
		out = append(out, localRecord{entity, id, rec})
	}
	for _, p := range ps {
		ch, err := l.db.Chart(bg, p.ID)
		if err != nil {
			l.t.Fatal(err)
		}
		add(ch.Patient)
		for _, r := range ch.Appointments {
			add(r)
		}
		for _, r := range ch.Encounters {
			add(r)
		}
		for _, r := range ch.Measurements {
			add(r)
		}
		for _, r := range ch.Prescriptions {
			add(r)
		}
		for _, r := range ch.ContactLenses {
			add(r)
		}
		for _, r := range ch.Images {
			add(r)
		}
	}
	return out
}

func (l *laneRig) save(by lane.Actor, rec any) any {
	l.t.Helper()
	var out any
	var err error
	switch r := rec.(type) {
	case lane.Patient:
		out, err = l.db.SavePatient(bg, by, r)
	case lane.Appointment:
		out, err = l.db.SaveAppointment(bg, by, r)
	case lane.Encounter:
		out, err = l.db.SaveEncounter(bg, by, r)
	case lane.Measurement:
		out, err = l.db.SaveMeasurement(bg, by, r)
	case lane.SpectacleRx:
		out, err = l.db.SaveSpectacleRx(bg, by, r)
	default:
		l.t.Fatalf("cannot save %T", rec)
	}
	if err != nil {
		l.t.Fatalf("%s: save %T: %v", l.name, rec, err)
	}
	return out
}
