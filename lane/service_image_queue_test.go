package lane_test

import (
	"context"
	"errors"
	"testing"

	"github.com/examlane/examlane/lane"
)

// picture is a synthetic camera picture (the bytes are not decoded by lane).
func picture(eye lane.Eye, seed byte) lane.ImageArrival {
	return lane.ImageArrival{
		Image:  lane.Image{Eye: eye, Kind: lane.ImageColor, MediaType: "image/jpeg", Width: 4, Height: 3},
		Data:   []byte{0xff, 0xd8, seed, 0xff, 0xd9},
		Source: "folder:Fundus camera",
	}
}

// chartImages returns the images the store holds for p in encounter enc.
func chartImages(t *testing.T, f *fixture, p lane.PatientID, enc lane.EncounterID) []lane.Image {
	t.Helper()
	c, err := f.store.Chart(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []lane.Image
	for _, img := range c.Images {
		if img.EncounterID == enc {
			out = append(out, img)
		}
	}
	return out
}

func TestIngestImageFilesInTheOpenEncounter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, "tech", lane.RoleTechnician)
	if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
		t.Fatal(err)
	}
	sub := f.svc.Subscribe(8)
	defer sub.Close()
	// Locking does not stop filing: the patient is still in the chair.
	if err := f.svc.Lock(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.IngestImage(ctx, picture(lane.EyeRight, 1))
	if err != nil {
		t.Fatal(err)
	}
	if c.PatientID != f.booked || c.EncounterID != f.enc.ID || c.Image == nil || c.Image.Version == 0 {
		t.Fatalf("IngestImage = %+v, want filed in %s/%s", c, f.booked, f.enc.ID)
	}
	imgs := chartImages(t, f, f.booked, f.enc.ID)
	if len(imgs) != 1 || imgs[0].Eye != lane.EyeRight || imgs[0].Size != 5 {
		t.Fatalf("encounter images = %+v, want the one right-eye picture", imgs)
	}
	data, err := f.store.ImageData(ctx, imgs[0].ID)
	if err != nil || string(data) != string(picture(lane.EyeRight, 1).Data) {
		t.Fatalf("ImageData = %v, %v; want the bytes as received", data, err)
	}
	queued, err := f.store.ListCaptures(ctx, lane.CaptureFilter{Unassigned: true})
	if err != nil || len(queued) != 0 {
		t.Fatalf("unassigned = %v, %v; want none", queued, err)
	}
	var arrived bool
	for len(sub.C) > 0 {
		if e, ok := (<-sub.C).(lane.ImageArrived); ok && e.Image.ID == imgs[0].ID {
			arrived = true
		}
	}
	if !arrived {
		t.Error("no ImageArrived event for the filed image")
	}
}

func TestIngestImageQueuedThenAssigned(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		in    lane.ImageArrival
	}{
		{"nobody signed in", func(*testing.T, *fixture) {}, picture(lane.EyeLeft, 2)},
		{"no chart open", func(t *testing.T, f *fixture) { f.signIn(t, "tech", lane.RoleTechnician) }, picture(lane.EyeLeft, 3)},
		{"file names another patient", func(t *testing.T, f *fixture) {
			f.signIn(t, "tech", lane.RoleTechnician)
			if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
				t.Fatal(err)
			}
		}, func() lane.ImageArrival { a := picture(lane.EyeLeft, 4); a.PatientRef = "DEMO-p2"; return a }()},
		{"open encounter signed", func(t *testing.T, f *fixture) {
			f.signIn(t, "optom", lane.RoleOptometrist)
			if _, err := f.svc.OpenChart(ctx, f.booked); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.SignExam(ctx, f.enc.ID); err != nil {
				t.Fatal(err)
			}
		}, picture(lane.EyeLeft, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(t, f)
			c, err := f.svc.IngestImage(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.PatientID != "" || c.Image == nil {
				t.Fatalf("IngestImage = %+v, want queued", c)
			}
			if n := len(chartImages(t, f, f.booked, f.enc.ID)); n != 0 {
				t.Fatalf("%d images filed in the encounter, want none (queued)", n)
			}
			f.signIn(t, "tech2", lane.RoleTechnician)
			queued, err := f.svc.UnassignedCaptures(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(queued) != 1 || queued[0].ID != c.ID || queued[0].Image == nil || queued[0].Image.Eye != lane.EyeLeft {
				t.Fatalf("UnassignedCaptures = %+v, want the queued picture", queued)
			}
			// A new visit to file it in (the fixture's may be signed).
			enc, err := f.store.SaveEncounter(ctx, lane.Actor{User: "setup"}, lane.Encounter{ID: "e2", PatientID: f.booked, Status: lane.EncPretest, Start: t0})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.AssignCapture(ctx, c.ID, f.booked, enc.ID)
			if err != nil {
				t.Fatal(err)
			}
			imgs := chartImages(t, f, f.booked, enc.ID)
			if len(imgs) != 1 || got.Image == nil || imgs[0].ID != got.Image.ID || imgs[0].SHA256 != c.SHA256 {
				t.Fatalf("after assign: images %+v, capture %+v", imgs, got)
			}
			if q, _ := f.svc.UnassignedCaptures(ctx); len(q) != 0 {
				t.Fatalf("still unassigned after assign: %+v", q)
			}
			// Assigning again cannot file it twice.
			if _, err := f.svc.AssignCapture(ctx, c.ID, f.booked, enc.ID); !errors.Is(err, lane.ErrInvalid) {
				t.Fatalf("second assign = %v, want ErrInvalid", err)
			}
			if n := len(chartImages(t, f, f.booked, enc.ID)); n != 1 {
				t.Fatalf("%d images after a second assign, want 1", n)
			}
		})
	}
}

func TestIngestImageRefusesEmpty(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.IngestImage(context.Background(), lane.ImageArrival{Source: "folder:x"}); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("IngestImage(no data) = %v, want ErrInvalid", err)
	}
}
