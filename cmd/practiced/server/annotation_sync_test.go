package server

import (
	"context"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/syncclient"
)

// TestAnnotationSyncWithLaneClient runs two real sync clients against this
// server: lane A creates a patient, books them, takes a photo and marks it;
// lane B, at the same location, pulls the schedule, the chart, the photo
// and the mark. Both sides of the contract agree on Basic.
func TestAnnotationSyncWithLaneClient(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := lane.SystemClock{}
	newLane := func(name string) (*syncclient.Client, *lanetest.Store, string) {
		t.Helper()
		code, _, err := e.srv.EnrollCode(ctx, "alpha", "Main", name)
		if err != nil {
			t.Fatal(err)
		}
		en, err := syncclient.Enroll(ctx, e.ts.URL, code, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := en.Config()
		if err != nil {
			t.Fatal(err)
		}
		st := lanetest.NewStore(clock)
		cfg.Store, cfg.Clock = st, clock
		c, err := syncclient.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c, st, cfg.Location
	}
	drain := func(c *syncclient.Client, st *lanetest.Store) {
		t.Helper()
		for range 3 {
			if err := c.SyncNow(ctx); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if p, _ := st.PendingChanges(ctx, 0); len(p) == 0 {
				return
			}
		}
		p, _ := st.PendingChanges(ctx, 0)
		t.Fatalf("outbox not drained: %d entries left, first %s (%q)", len(p), p[0].Entity, p[0].LastError)
	}

	ca, sa, loc := newLane("Lane A")
	by := lane.Actor{User: "dr-1", Roles: []lane.Role{lane.RoleOptometrist}, Lane: "Lane A"}
	// The server checks each write against the staff table: dr-1 books,
	// photographs and marks, so holds the roles that allow it.
	if _, err := e.srv.AddUser(ctx, User{Tenant: "alpha", ID: "dr-1", Name: "Doctor One",
		Roles: []lane.Role{lane.RoleOptometrist, lane.RoleFrontDesk}}); err != nil {
		t.Fatal(err)
	}
	p, err := sa.SavePatient(ctx, by, lane.Patient{MRN: "DEMO-AN1", Name: lane.Name{Family: "Synthetic", Given: []string{"Ann"}},
		BirthDate: lane.Date{Year: 1980, Month: 1, Day: 1}, Sex: lane.SexFemale})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	if _, err := sa.SaveAppointment(ctx, by, lane.Appointment{PatientID: p.ID, Start: now, End: now.Add(30 * time.Minute),
		Location: loc, Status: lane.ApptBooked, Reason: "Routine eye exam"}); err != nil {
		t.Fatal(err)
	}
	jpg, err := fundusJPEG(fundusOptions{Width: 64, Height: 48, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	img, err := sa.SaveImage(ctx, by, lane.Image{PatientID: p.ID, Eye: lane.EyeRight, Kind: lane.ImageColor, CapturedAt: now,
		MediaType: "image/jpeg"}, jpg)
	if err != nil {
		t.Fatal(err)
	}
	mark, err := sa.SaveAnnotation(ctx, by, lane.Annotation{ImageID: img.ID, Kind: lane.AnnotCircle,
		Points: []lane.Point{{X: 20.5, Y: 24}, {X: 28, Y: 24}}, Text: "synthetic finding", Author: by.User, At: now})
	if err != nil {
		t.Fatal(err)
	}
	drain(ca, sa)

	// Lane B's first cycle: the schedule, the chart, the photo and, by
	// Basic?subject=, its mark.
	cb, sb, _ := newLane("Lane B")
	if err := cb.SyncNow(ctx); err != nil {
		t.Fatalf("lane B sync: %v", err)
	}
	ps, err := sb.FindPatients(ctx, lane.PatientQuery{MRN: p.MRN})
	if err != nil || len(ps) != 1 {
		t.Fatalf("lane B patients with the MRN: %v %v", ps, err)
	}
	ch, err := sb.Chart(ctx, ps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Images) != 1 {
		t.Fatalf("lane B chart images = %d, want 1", len(ch.Images))
	}
	as, err := sb.ListAnnotations(ctx, ch.Images[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Kind != mark.Kind || as[0].Text != mark.Text || len(as[0].Points) != 2 ||
		as[0].Points[1] != mark.Points[1] || !as[0].At.Equal(mark.At) || as[0].Author != mark.Author {
		t.Errorf("lane B annotations = %+v, want %+v", as, mark)
	}
	drain(cb, sb) // and lane B's own audit events go up
}
