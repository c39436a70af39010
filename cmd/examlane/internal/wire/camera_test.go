package wire

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/camera"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/seal"
)

var camT0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// cameraFixture is a lane with one synthetic patient booked today with a
// visit in pretest, a watched export folder and the simulated fundus
// camera dropping into it.
type cameraFixture struct {
	store lane.Store
	svc   *lane.Service
	cams  *Cameras
	sim   *FundusSimulator
	dir   string
	pid   lane.PatientID
	enc   lane.EncounterID
}

// stores are the stores the wiring is tested with: the in-memory fake and
// the real encrypted SQLite store.
var stores = map[string]func(t *testing.T) lane.Store{
	"lanetest": func(*testing.T) lane.Store { return lanetest.NewStore(lanetest.NewManualClock(camT0)) },
	"localdb": func(t *testing.T) lane.Store {
		db, err := localdb.Open(t.Context(), localdb.Config{
			Path: filepath.Join(t.TempDir(), localdb.FileName), TestPassphrase: true,
			KDF:        &seal.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1},
			Passphrase: func() ([]byte, error) { return []byte("synthetic test passphrase"), nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	},
}

func newCameraFixture(t *testing.T, store lane.Store) *cameraFixture {
	t.Helper()
	ctx := t.Context()
	sys := lane.Actor{User: "setup", Roles: []lane.Role{lane.RoleAdmin}, Lane: "lane-1"}
	p, err := store.SavePatient(ctx, sys, lane.Patient{ID: "p1", MRN: "SYN-0001", Name: lane.Name{Family: "Synthetic", Given: []string{"Test"}},
		BirthDate: lane.Date{Year: 1970, Month: 1, Day: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveAppointment(ctx, sys, lane.Appointment{ID: "a1", PatientID: p.ID, Start: camT0.Add(time.Hour),
		End: camT0.Add(90 * time.Minute), Location: "loc-1", Status: lane.ApptPretest}); err != nil {
		t.Fatal(err)
	}
	enc, err := store.SaveEncounter(ctx, sys, lane.Encounter{ID: "e1", PatientID: p.ID, AppointmentID: "a1",
		Status: lane.EncPretest, Start: camT0, Location: "loc-1"})
	if err != nil {
		t.Fatal(err)
	}
	clock := lanetest.NewManualClock(camT0)
	svc := lane.NewService(lane.Config{Store: store, Clock: clock, Lane: "lane-1", Location: "loc-1", Device: "dev-1", TimeZone: time.UTC})
	dir := filepath.Join(t.TempDir(), "fundus")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sim := &FundusSimulator{Folder: dir, Width: 96, Height: 72, Seed: 7}
	cams, err := NewCameras(CamerasConfig{Service: svc, StateDir: t.TempDir(), Logf: t.Logf,
		Cameras: []Camera{{Camera: camera.Camera{Name: "Fundus camera", Folder: dir, Pattern: "*.jpg", Stable: -1}, Trigger: sim.Trigger}}})
	if err != nil {
		t.Fatal(err)
	}
	return &cameraFixture{store: store, svc: svc, cams: cams, sim: sim, dir: dir, pid: p.ID, enc: enc.ID}
}

func (f *cameraFixture) signIn(t *testing.T) {
	t.Helper()
	if err := f.svc.Begin(t.Context(), lane.Session{User: "tech", Roles: []lane.Role{lane.RoleTechnician}, Started: camT0, Expires: camT0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// dropAndScan has the simulated camera drop a pair and the importer take
// it, and returns the bytes of the two files (right eye first).
func (f *cameraFixture) dropAndScan(t *testing.T) [2][]byte {
	t.Helper()
	if err := f.sim.DropPair(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(f.dir, "*.jpg"))
	if len(names) != 2 {
		t.Fatalf("simulator dropped %v, want two pictures", names)
	}
	var files [2][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if camera.EyeFromName(n) == lane.EyeLeft {
			files[1] = b
		} else {
			files[0] = b
		}
	}
	if err := f.cams.Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, "*.jpg")); len(left) != 0 {
		t.Fatalf("files left in the export folder after the scan: %v", left)
	}
	return files
}

// visitImages returns the images filed in the fixture's visit, by eye.
func (f *cameraFixture) visitImages(t *testing.T) map[lane.Eye]lane.Image {
	t.Helper()
	c, err := f.store.Chart(t.Context(), f.pid)
	if err != nil {
		t.Fatal(err)
	}
	out := map[lane.Eye]lane.Image{}
	for _, img := range c.Images {
		if img.EncounterID == f.enc {
			if _, dup := out[img.Eye]; dup {
				t.Fatalf("two %v images in the visit", img.Eye)
			}
			out[img.Eye] = img
		}
	}
	return out
}

// checkFiled checks that the visit holds the two pictures, with the bytes
// as dropped.
func (f *cameraFixture) checkFiled(t *testing.T, files [2][]byte) {
	t.Helper()
	imgs := f.visitImages(t)
	for i, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		img, ok := imgs[eye]
		if !ok {
			t.Fatalf("no %v image in the visit (have %+v)", eye, imgs)
		}
		if img.MediaType != "image/jpeg" || img.Width != 96 || img.Height != 72 || img.PatientID != f.pid {
			t.Errorf("%v image = %+v, want a 96×72 JPEG of %s", eye, img, f.pid)
		}
		data, err := f.store.ImageData(t.Context(), img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(files[i]) {
			t.Errorf("%v image bytes differ from the dropped file (%d vs %d bytes)", eye, len(data), len(files[i]))
		}
	}
}

// TestCameraDropLandsInTheOpenVisit: a picture dropped into the watched
// export folder while a chart is open is filed in that chart's visit.
func TestCameraDropLandsInTheOpenVisit(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			f := newCameraFixture(t, open(t))
			f.signIn(t)
			if _, err := f.svc.OpenChart(t.Context(), f.pid); err != nil {
				t.Fatal(err)
			}
			files := f.dropAndScan(t)
			f.checkFiled(t, files)
			if q, err := f.svc.UnassignedCaptures(t.Context()); err != nil || len(q) != 0 {
				t.Fatalf("UnassignedCaptures = %v, %v; want none", q, err)
			}
			st := f.cams.States()
			if len(st) != 1 || st[0].State != "connected" || st[0].LastReading.IsZero() {
				t.Errorf("camera state = %+v, want connected with a last picture", st)
			}
		})
	}
}

// TestCameraDropQueuedWithoutChart: with no chart open the pictures wait,
// sealed, as unassigned captures, and a person then files them in a visit.
func TestCameraDropQueuedWithoutChart(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			f := newCameraFixture(t, open(t))
			files := f.dropAndScan(t) // nobody signed in, no chart
			if n := len(f.visitImages(t)); n != 0 {
				t.Fatalf("%d images filed with no chart open, want 0", n)
			}
			f.signIn(t)
			q, err := f.svc.UnassignedCaptures(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(q) != 2 {
				t.Fatalf("UnassignedCaptures = %d, want the 2 pictures", len(q))
			}
			eyes := map[lane.Eye]bool{}
			for _, c := range q {
				if c.Image == nil {
					t.Fatalf("queued capture %s lost its image metadata", c.ID)
				}
				eyes[c.Image.Eye] = true
				if _, err := f.svc.AssignCapture(t.Context(), c.ID, f.pid, f.enc); err != nil {
					t.Fatal(err)
				}
			}
			if !eyes[lane.EyeRight] || !eyes[lane.EyeLeft] {
				t.Fatalf("queued eyes = %v, want both", eyes)
			}
			f.checkFiled(t, files)
			if q, _ := f.svc.UnassignedCaptures(t.Context()); len(q) != 0 {
				t.Fatalf("%d still unassigned after assigning", len(q))
			}
		})
	}
}

// TestWithCamerasCountsTheCamera: the camera is listed with the
// instruments (the status bar's count) and Measure triggers it.
func TestWithCamerasCountsTheCamera(t *testing.T) {
	f := newCameraFixture(t, lanetest.NewStore(lanetest.NewManualClock(camT0)))
	ins := WithCameras(NewInstruments(nil, nil, nil), f.cams)
	list := ins.List()
	if len(list) != 1 || list[0].Kind != CameraKind || list[0].State != "connected" || !list[0].CanMeasure {
		t.Fatalf("List = %+v, want the connected, triggerable camera", list)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.sim.Run(ctx) }()
	if err := ins.Measure(ctx, list[0].Profile); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(f.dir, "*.jpg"))
		if len(names) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trigger dropped %v, want a pair", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ins.Measure(t.Context(), "nidek-ark1"); err == nil {
		t.Error("Measure on an unknown instrument succeeded")
	}
	_ = os.RemoveAll(f.dir)
	f.cams.reprobe()
	if st := f.cams.States()[0]; st.State != "disconnected" {
		t.Errorf("state with the folder gone = %q, want disconnected", st.State)
	}
}
