package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/ui"
)

// TestAuditTrailEveryAction is the audit acceptance of the sign-in issue:
// against the demo backend (embedded practiced, encrypted lane store, real
// sign-in), every audited action produces exactly one audit event of its
// kind with the right user, lane and patient; after a sync cycle the server
// holds every one of them as a FHIR AuditEvent; and the chain verifies.
func TestAuditTrailEveryAction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server, a store and simulators")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	b, err := startDemo(ctx, demoOptions{Dir: t.TempDir(), Seed: server.SeedOptions{Patients: 12, Appointments: 8, ImagePatients: 1},
		SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if err := b.sync.SyncNow(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	account := func(role lane.Role) demoAccount {
		for _, a := range b.accounts.Accounts {
			if len(a.Roles) == 1 && a.Roles[0] == role {
				return a
			}
		}
		t.Fatalf("no %s among the demo accounts", role)
		return demoAccount{}
	}
	signIn := func(a demoAccount) lane.Session {
		secret, err := auth.DecodeSecret(a.TOTPSecret)
		if err != nil {
			t.Fatal(err)
		}
		var sess lane.Session
		for deadline := time.Now().Add(40 * time.Second); ; {
			code, _ := auth.DefaultTOTP().Code(secret, time.Now())
			sess, err = b.auth.SignIn(ctx, a.Login, a.Password, code)
			// wait out the lockout delay, or the next time step when the
			// current code was already used by an earlier sign-in
			if err == nil || time.Now().After(deadline) || !(errors.Is(err, auth.ErrThrottled) || errors.Is(err, ui.ErrBadCredentials)) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("sign in %s: %v", a.Login, err)
		}
		return sess
	}

	var last int64
	if evs, err := b.db.ListAudit(ctx, lane.AuditFilter{}); err == nil && len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	var ours []lane.AuditEvent
	// expect runs step and checks that it produced exactly one event of the
	// action and outcome, by user, on this lane, about patient.
	expect := func(name string, action lane.AuditAction, outcome lane.AuditOutcome, user lane.UserID, patient lane.PatientID, step func() error) {
		t.Helper()
		if err := step(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		evs, err := b.db.ListAudit(ctx, lane.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []lane.AuditEvent
		for _, e := range evs {
			if e.Seq > last && e.Action == action && e.Outcome == outcome {
				got = append(got, e)
			}
		}
		if n := len(evs); n > 0 {
			last = evs[n-1].Seq
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d %s/%s events, want exactly 1: %+v", name, len(got), action, outcome, got)
		}
		e := got[0]
		if e.User != user || e.PatientID != patient || e.ID == "" || e.At.IsZero() {
			t.Fatalf("%s: event %+v, want user %q patient %q", name, e, user, patient)
		}
		if action != lane.AuditSignIn && e.Lane != b.enrolled.LaneName {
			t.Fatalf("%s: event lane %q, want %q", name, e.Lane, b.enrolled.LaneName)
		}
		ours = append(ours, e)
	}

	tech, dr, admin := account(lane.RoleTechnician), account(lane.RoleOptometrist), account(lane.RoleAdmin)
	techID, drID := lane.UserID(tech.UserID), lane.UserID(dr.UserID)
	// Before anyone signed in here the lane cannot tell who a failed
	// attempt was (the server does not say whether a login exists).
	expect("sign-in failure, unknown here", lane.AuditSignIn, lane.OutcomeFailure, "unknown-user", "", func() error {
		if _, err := b.auth.SignIn(ctx, tech.Login, tech.Password, "000000"); !errors.Is(err, ui.ErrBadCredentials) {
			return fmt.Errorf("wrong code accepted: %v", err)
		}
		return nil
	})
	var sess lane.Session
	expect("sign-in", lane.AuditSignIn, lane.OutcomeSuccess, techID, "", func() error {
		sess = signIn(tech)
		return b.svc.Begin(ctx, sess)
	})
	// Once the user is known on this lane, a failure is attributed to them.
	expect("sign-in failure, known user", lane.AuditSignIn, lane.OutcomeFailure, techID, "", func() error {
		if _, err := b.auth.SignIn(ctx, tech.Login, "not the password", "000000"); !errors.Is(err, ui.ErrBadCredentials) {
			return fmt.Errorf("wrong password accepted: %v", err)
		}
		return nil
	})
	wl, err := b.svc.Worklist(ctx)
	if err != nil || len(wl) == 0 {
		t.Fatalf("worklist: %d, %v", len(wl), err)
	}
	// A patient arrives now (the seeded schedule depends on the time of
	// day, so the test books its own arrival for one of today's patients,
	// as the front desk: the server checks every synced write against the
	// named user's roles).
	now := time.Now()
	appt, err := b.db.SaveAppointment(ctx, lane.Actor{User: lane.UserID(account(lane.RoleFrontDesk).UserID), Roles: []lane.Role{lane.RoleFrontDesk}},
		lane.Appointment{ID: lane.AppointmentID(lane.NewID()), PatientID: wl[0].PatientID, Start: now, End: now.Add(30 * time.Minute),
			Location: b.enrolled.Location, Status: lane.ApptArrived, Provider: lane.UserID(account(lane.RoleOptometrist).UserID)})
	if err != nil {
		t.Fatal(err)
	}
	// The booking reaches the server as the front desk's before the
	// technician moves it (lanes do not book; this stands in for the
	// practice system).
	if err := b.sync.SyncNow(ctx); err != nil {
		t.Fatalf("sync the booking: %v", err)
	}
	if evs, _ := b.db.ListAudit(ctx, lane.AuditFilter{}); len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	pid := appt.PatientID
	var chart lane.Chart
	expect("chart open", lane.AuditView, lane.OutcomeSuccess, techID, pid, func() error {
		chart, err = b.svc.OpenChart(ctx, pid)
		return err
	})
	expect("start pretest (the visit's encounter)", lane.AuditCreate, lane.OutcomeSuccess, techID, pid, func() error {
		_, err := b.svc.AdvanceVisit(ctx, appt, lane.ApptPretest)
		return err
	})
	_, encID := b.svc.Active()
	m := lane.Measurement{PatientID: pid, EncounterID: encID, Kind: lane.KindIOP, Eye: lane.EyeRight, Source: lane.SourceManual,
		IOP: &lane.IOP{Pressure: 160, Method: lane.IOPGoldmann}}
	expect("create", lane.AuditCreate, lane.OutcomeSuccess, techID, pid, func() error {
		m, err = b.svc.RecordMeasurement(ctx, m)
		return err
	})
	expect("update", lane.AuditUpdate, lane.OutcomeSuccess, techID, pid, func() error {
		m.IOP.Pressure = 170
		m, err = b.svc.RecordMeasurement(ctx, m)
		return err
	})
	expect("delete", lane.AuditDelete, lane.OutcomeSuccess, techID, pid, func() error {
		return b.svc.RemoveMeasurement(ctx, m, "entered in error")
	})
	expect("capture", lane.AuditCapture, lane.OutcomeSuccess, techID, pid, func() error {
		_, err := b.svc.IngestCapture(ctx, lane.Capture{Format: "nidek-dblock", Raw: []byte("\x01synthetic\x04"),
			Instrument: lane.InstrumentRef{Vendor: "NIDEK", Model: "ARK-1", Profile: "nidek-ark1"},
			Readings: []lane.Measurement{{Kind: lane.KindRefraction, Eye: lane.EyeRight, Source: lane.SourceAutorefraction,
				Refraction: &lane.Refraction{Sphere: -1000}}}})
		return err
	})
	expect("lock", lane.AuditLock, lane.OutcomeSuccess, techID, "", func() error { return b.svc.Lock(ctx, "idle") })
	expect("unlock", lane.AuditUnlock, lane.OutcomeSuccess, techID, "", func() error { return b.svc.Unlock(ctx, techID) })
	// A chart on this lane but not on today's schedule (e.g. imported).
	offSchedule, err := b.db.SavePatient(ctx, lane.Actor{User: lane.UserID(account(lane.RoleFrontDesk).UserID), Roles: []lane.Role{lane.RoleFrontDesk}},
		lane.Patient{ID: lane.PatientID(lane.NewID()), MRN: "DEMO-BG-1", Name: lane.Name{Family: "Offschedule", Given: []string{"Synthetic"}},
			BirthDate: lane.Date{Year: 1961, Month: 5, Day: 6}})
	if err != nil {
		t.Fatal(err)
	}
	other := offSchedule.ID
	if _, err := b.svc.OpenChart(ctx, other); !errors.Is(err, lane.ErrBreakGlassRequired) {
		t.Fatalf("chart off the schedule opened without break-glass: %v", err)
	}
	last = 1 << 62 // skip the denial and the setup save above
	if evs, _ := b.db.ListAudit(ctx, lane.AuditFilter{}); len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	expect("break-glass", lane.AuditBreakGlass, lane.OutcomeSuccess, techID, other, func() error {
		return b.svc.BreakGlass(ctx, other, "patient phoned about an urgent result")
	})

	// The optometrist signs the exam and exports the Rx.
	expect("sign-in optometrist", lane.AuditSignIn, lane.OutcomeSuccess, drID, "", func() error {
		return b.svc.Begin(ctx, signIn(dr))
	})
	if _, err := b.svc.OpenChart(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if encID == "" {
		t.Fatalf("chart %s has no open encounter (%d encounters)", pid, len(chart.Encounters))
	}
	expect("sign exam", lane.AuditSign, lane.OutcomeSuccess, drID, pid, func() error {
		_, err := b.svc.SignExam(ctx, encID)
		return err
	})
	expect("export", lane.AuditExport, lane.OutcomeSuccess, drID, pid, func() error {
		return b.svc.RecordExport(ctx, pid, "spectacle Rx PDF")
	})
	// The admin changes a setting and the lane is backed up.
	adminID := lane.UserID(admin.UserID)
	expect("sign-in admin", lane.AuditSignIn, lane.OutcomeSuccess, adminID, "", func() error {
		return b.svc.Begin(ctx, signIn(admin))
	})
	expect("settings", lane.AuditSettings, lane.OutcomeSuccess, adminID, "", func() error {
		return b.svc.RecordSettingsChange(ctx, "lock timeout 5m -> 3m")
	})
	actor := lane.Actor{User: adminID, Roles: []lane.Role{lane.RoleAdmin}, Lane: b.enrolled.LaneName}
	expect("backup", lane.AuditBackup, lane.OutcomeSuccess, adminID, "", func() error {
		return b.db.Backup(ctx, actor, filepath.Join(t.TempDir(), "lane.backup"))
	})

	// The chain verifies.
	rep, err := b.db.VerifyAudit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain: %+v, %v", rep, err)
	}
	// Every event reaches the server as an AuditEvent.
	for i := 0; i < 3; i++ {
		if err := b.sync.SyncNow(ctx); err != nil {
			t.Logf("sync cycle: %v", err)
		}
	}
	sc, err := b.enrolled.Config()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: sc.TLS}}
	for _, e := range ours {
		q := b.url + "/fhir/R4/AuditEvent?_summary=count&_tag=" + url.QueryEscape("urn:examlane:id|"+e.ID)
		resp, err := hc.Get(q)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Total int `json:"total"`
		}
		err = json.NewDecoder(resp.Body).Decode(&bundle)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("search AuditEvent %s: %d, %v", e.ID, resp.StatusCode, err)
		}
		if bundle.Total != 1 {
			t.Errorf("server holds %d AuditEvents for the %s event %s, want 1", bundle.Total, e.Action, e.ID)
		}
	}
}
