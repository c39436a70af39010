package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/ui"
)

// TestDemoBackend runs demo mode without its window: the embedded practice
// server, the enrolled lane, the simulators and the hub. A technician signs
// in through the demo authenticator, opens a chart from the worklist, the
// simulated autorefractor measures, and the reading must be filed against
// the open chart and then reach the server (the outbox drains).
func TestDemoBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server, a store and simulators")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := startDemo(ctx, demoOptions{Dir: t.TempDir(), Seed: server.SeedOptions{Patients: 12, Appointments: 8, ImagePatients: 4},
		SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	events := b.svc.Subscribe(256)
	defer events.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.lane.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("lane run: %v", err)
		}
		if err := b.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()

	// The first cycle pulls today's schedule.
	if err := b.sync.SyncNow(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}

	var tech demoAccount
	for _, a := range b.accounts.Accounts {
		if len(a.Roles) == 1 && a.Roles[0] == lane.RoleTechnician {
			tech = a
			break
		}
	}
	if tech.Login == "" {
		t.Fatalf("no technician among the demo accounts: %+v", b.accounts.Accounts)
	}
	if _, err := b.auth.SignIn(ctx, tech.Login, tech.Password, "000000"); !errors.Is(err, ui.ErrBadCredentials) {
		t.Fatalf("sign in with a wrong code: %v, want ErrBadCredentials", err)
	}
	secret, err := auth.DecodeSecret(tech.TOTPSecret)
	if err != nil {
		t.Fatal(err)
	}
	code, err := auth.DefaultTOTP().Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// After a failure the next attempt waits out the lockout delay (1 s):
	// the same rule real staff meet.
	var sess lane.Session
	for deadline := time.Now().Add(10 * time.Second); ; {
		sess, err = b.auth.SignIn(ctx, tech.Login, tech.Password, code)
		if !errors.Is(err, auth.ErrThrottled) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if _, err := b.auth.SignIn(ctx, tech.Login, tech.Password, code); !errors.Is(err, ui.ErrBadCredentials) {
		t.Fatalf("replayed code: %v, want ErrBadCredentials", err)
	}
	if err := b.svc.Begin(ctx, sess); err != nil {
		t.Fatal(err)
	}
	wl, err := b.svc.Worklist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wl) == 0 {
		t.Fatal("empty worklist after the first sync")
	}
	// Earlier visits' images came down with their bytes, so that they can
	// be viewed and compared offline.
	images := 0
	for _, it := range wl {
		ch, err := b.db.Chart(ctx, it.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range ch.Images {
			images++
			if _, err := b.db.ImageData(ctx, img.ID); err != nil {
				t.Errorf("image of an earlier visit not viewable: %v", err)
			}
		}
	}
	if images == 0 {
		t.Error("no earlier images pulled for today's patients")
	}
	chart, err := b.svc.OpenChart(ctx, wl[0].PatientID)
	if err != nil {
		t.Fatalf("open chart: %v", err)
	}
	pid := chart.Patient.ID

	// Wait for the hub to open the autorefractor's pty.
	demoWait(t, 10*time.Second, "autorefractor connected", func() bool {
		for _, in := range b.ins.List() {
			if in.Profile == "nidek-ark1" {
				return in.State == "connected" && in.CanMeasure && in.Kind == "autorefractor"
			}
		}
		return false
	})
	if err := b.ins.Measure(ctx, "nidek-ark1"); err != nil {
		t.Fatal(err)
	}
	var capt lane.Capture
	deadline := time.After(15 * time.Second)
	for capt.ID == "" {
		select {
		case e := <-events.C:
			if c, ok := e.(lane.CaptureArrived); ok && c.Capture.Instrument.Profile == "nidek-ark1" {
				capt = c.Capture
			}
		case <-deadline:
			t.Fatal("no capture from the simulated autorefractor")
		}
	}
	if capt.PatientID != pid || len(capt.Readings) == 0 {
		t.Fatalf("capture bound to %q with %d readings, want the open chart %q with readings", capt.PatientID, len(capt.Readings), pid)
	}
	stored, err := b.db.ListMeasurements(ctx, lane.MeasurementFilter{PatientID: pid})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range stored {
		if m.CaptureID == capt.ID && m.Kind == lane.KindRefraction {
			found = true
		}
	}
	if !found {
		t.Fatalf("no refraction of capture %s stored for the open chart (%d measurements)", capt.ID, len(stored))
	}

	pending, err := b.db.PendingChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) == 0 {
		t.Fatal("the reading queued nothing for the server")
	}
	// The cycle pushes the outbox first, then pulls. The pull's error is
	// logged, not fatal: this test is about the reading reaching the server.
	syncErr := b.sync.SyncNow(ctx)
	if syncErr != nil {
		t.Logf("sync cycle after the push: %v", syncErr)
	}
	pending, err = b.db.PendingChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Fatalf("%d change(s) still queued after a sync cycle: %+v", len(pending), pending[0])
	}
	if st := b.sync.Status(); st.Queued != 0 {
		t.Fatalf("sync status after the cycle: %+v", st)
	}
}

func demoWait(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
