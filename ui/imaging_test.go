package ui_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
	"github.com/examlane/examlane/ui/retina/synth"
	"github.com/examlane/examlane/ui/uitest"
)

// fundus returns a small synthetic fundus photograph as JPEG bytes.
func fundus(t *testing.T, eye lane.Eye, seed uint64) []byte {
	t.Helper()
	img, _ := synth.Generate(synth.Params{Width: 160, Height: 120, Seed: seed, Eye: eye})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seedImages files a right and a left picture in Ben's visit of today and
// a right one in a signed visit a year ago, and returns the three.
func seedImages(t *testing.T, p *uitest.Practice) (od, os, earlier lane.Image) {
	t.Helper()
	ctx := context.Background()
	by := lane.Actor{User: "seed", Roles: []lane.Role{lane.RoleAdmin}, Lane: "lane-1"}
	year := p.Clock.Now().AddDate(-1, 0, 0)
	prev, err := p.Store.SaveEncounter(ctx, by, lane.Encounter{ID: "enc-ben-2025", PatientID: p.Ben.ID, Status: lane.EncDone,
		Start: year, SignedBy: uitest.Optometrist.ID, SignedAt: year.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cam := lane.InstrumentRef{Model: "Fundus camera", Profile: "camera:Fundus camera"}
	save := func(id string, enc lane.EncounterID, eye lane.Eye, at time.Time, seed uint64) lane.Image {
		img, err := p.Store.SaveImage(ctx, by, lane.Image{ID: lane.ImageID(id), PatientID: p.Ben.ID, EncounterID: enc, Eye: eye,
			Kind: lane.ImageColor, CapturedAt: at, MediaType: "image/jpeg", Width: 160, Height: 120, Instrument: cam}, fundus(t, eye, seed))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	visit := p.Visit[p.Ben.ID].ID
	now := p.Clock.Now()
	return save("img-od", visit, lane.EyeRight, now.Add(-20*time.Minute), 1),
		save("img-os", visit, lane.EyeLeft, now.Add(-19*time.Minute), 2),
		save("img-od-2025", prev.ID, lane.EyeRight, year, 3)
}

// TestExamImagesTab is the optometrist's look at the photographs: the
// visit's thumbnails per eye, the earlier visit, a picture waiting to be
// filed, comparing with the earlier visit, and the lock dropping every
// decoded pixel.
func TestExamImagesTab(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	od, _, earlier := seedImages(t, f.p)
	// A picture that arrived while no chart was open waits to be assigned.
	queued, err := f.p.Service.IngestImage(ctx, lane.ImageArrival{Source: "folder:Fundus camera", Data: fundus(t, lane.EyeLeft, 4),
		Image: lane.Image{Eye: lane.EyeLeft, Kind: lane.ImageColor, MediaType: "image/jpeg", Width: 160, Height: 120,
			CapturedAt: f.p.Clock.Now().Add(-5 * time.Minute), Instrument: lane.InstrumentRef{Model: "Fundus camera"}}})
	if err != nil || queued.PatientID != "" {
		t.Fatalf("IngestImage with no chart = %+v, %v; want queued", queued, err)
	}

	f.signIn(uitest.Optometrist)
	f.open(f.p.Ben)
	ui.ExamShowImages(f.d)
	if got := ui.ExamImagesTabText(f.d); got != "Images (2)" {
		t.Errorf("tab title %q, want Images (2)", got)
	}
	if n := ui.ExamThumbnails(f.d); n != 2 {
		t.Fatalf("%d thumbnails decoded, want the visit's 2", n)
	}
	f.golden("exam/images.xml")
	noPatientData(t, f.markup(), f.p.Ada, f.p.Cleo)

	// Filing the waiting picture puts it in the visit.
	f.tap("File in this visit")
	if got := ui.ExamImagesTabText(f.d); got != "Images (3)" {
		t.Errorf("after filing, tab title %q, want Images (3)", got)
	}
	if q, _ := f.p.Service.UnassignedCaptures(ctx); len(q) != 0 {
		t.Errorf("%d pictures still waiting after filing", len(q))
	}

	// Only the right eye has an earlier visit to compare with.
	var enabled int
	for _, b := range f.buttons("Compare with earlier") {
		if !b.Disabled() {
			enabled++
			test.Tap(b)
		}
	}
	if enabled != 1 {
		t.Fatalf("%d compare buttons enabled, want 1 (right eye)", enabled)
	}
	vs := ui.ExamViewers(f.d)
	if len(vs) != 2 {
		t.Fatalf("compare shows %d viewers, want 2", len(vs))
	}
	for i, want := range []lane.Image{od, earlier} {
		if vs[i].Image().ID != want.ID || vs[i].Pyramid() == nil || vs[i].Err() != nil {
			t.Errorf("viewer %d shows %q (loaded %v, err %v), want %q", i, vs[i].Image().ID, vs[i].Pyramid() != nil, vs[i].Err(), want.ID)
		}
		if vs[i].CanAnnotate() {
			t.Errorf("viewer %d can annotate, but the earlier visit is signed", i)
		}
	}
	f.tap("Back to images")
	if ui.ExamOpenView(f.d) != nil {
		t.Fatal("the viewer is still open after Back to images")
	}

	// Open the right eye alone: this visit is not signed, so it takes marks.
	f.buttons("Open")[0].Tapped(nil)
	vs = ui.ExamViewers(f.d)
	if len(vs) != 1 || vs[0].Image().ID != od.ID || vs[0].Pyramid() == nil || vs[0].Frame() == nil {
		t.Fatalf("viewer after Open: %d viewers", len(vs))
	}
	if !vs[0].CanAnnotate() {
		t.Error("the optometrist cannot annotate this visit's image")
	}

	f.d.Lock("manual")
	if ui.ExamOpenView(f.d) != nil || ui.ExamThumbnails(f.d) != 0 {
		t.Error("the lock left the viewer open or thumbnails decoded")
	}
	if vs[0].Pyramid() != nil || vs[0].Frame() != nil {
		t.Error("the lock left the viewer's decoded pixels in memory")
	}
}

// TestExamImagesTabFollowsArrivals: a picture filed while the chart is
// open appears on the tab.
func TestExamImagesTabFollowsArrivals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(uitest.Optometrist)
	f.open(f.p.Ben)
	if got := ui.ExamImagesTabText(f.d); got != "Images" {
		t.Fatalf("tab title %q with no images, want Images", got)
	}
	c, err := f.p.Service.IngestImage(ctx, lane.ImageArrival{Source: "folder:Fundus camera", Data: fundus(t, lane.EyeRight, 9),
		Image: lane.Image{Eye: lane.EyeRight, Kind: lane.ImageColor, MediaType: "image/jpeg", Width: 160, Height: 120}})
	if err != nil || c.PatientID != f.p.Ben.ID || c.Image == nil {
		t.Fatalf("IngestImage with Ben's chart open = %+v, %v", c, err)
	}
	f.d.HandleEvent(lane.ImageArrived{Image: *c.Image}) // as the bridge would
	if got := ui.ExamImagesTabText(f.d); got != "Images (1)" {
		t.Errorf("tab title %q after a picture arrived, want Images (1)", got)
	}
	if n := ui.ExamThumbnails(f.d); n != 1 {
		t.Errorf("%d thumbnails, want 1", n)
	}
}
