package camera_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/camera"
	"github.com/examlane/examlane/devices/ptp"
	"github.com/examlane/examlane/devices/ptp/ptptest"
	"github.com/examlane/examlane/lane"
)

// sink collects captures.
type sink struct {
	mu   sync.Mutex
	caps []camera.Capture
	err  error
	got  chan camera.Capture
}

func newSink() *sink { return &sink{got: make(chan camera.Capture, 16)} }

func (s *sink) emit(_ context.Context, c camera.Capture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.caps = append(s.caps, c)
	s.got <- c
	return nil
}

func (s *sink) all() []camera.Capture {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]camera.Capture(nil), s.caps...)
}

// fixture reads a file made by devices/imaging/testdata/gen.sh.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "imaging", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pngBytes(t *testing.T, w, h int, gray bool) []byte {
	t.Helper()
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i)
		}
		img = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.Set(x, y, color.RGBA{200, uint8(x), uint8(y), 255})
			}
		}
		img = m
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t *testing.T, dir, name string, data []byte, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

var now = time.Date(2024, 3, 14, 12, 0, 0, 0, time.UTC)

func newImporter(t *testing.T, s *sink, cams ...camera.Camera) *camera.Importer {
	t.Helper()
	for i := range cams {
		cams[i].Stable = -1 // read on first sight
	}
	im, err := camera.New(camera.Config{Cameras: cams, Emit: s.emit, StateDir: t.TempDir(), Now: func() time.Time { return now }, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestFolderImport(t *testing.T) {
	dir := t.TempDir()
	s := newSink()
	im := newImporter(t, s, camera.Camera{Name: "fundus", Folder: dir, FieldOfView: 45, Instrument: lane.InstrumentRef{Vendor: "Synthetic", Model: "FC-1"}})
	mtime := time.Date(2024, 3, 14, 9, 30, 0, 0, time.UTC)
	photo := pngBytes(t, 40, 30, false)
	write(t, dir, "IMG_0042_OS.png", photo, mtime)
	write(t, dir, "unnamed.png", pngBytes(t, 20, 10, true), time.Time{})
	dcm := fixture(t, "op_jpeg_baseline.dcm")
	write(t, dir, "study.dcm", dcm, mtime)
	write(t, dir, "broken.jpg", []byte("\xff\xd8\xff not really a jpeg"), mtime)
	write(t, dir, "copy_OD.png", photo, mtime) // same content as IMG_0042_OS

	res, err := im.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Handled != 3 || res.Failed != 1 || res.Duplicates != 1 {
		t.Fatalf("scan %+v, want 3 handled, 1 failed, 1 duplicate", res)
	}
	byName := map[int64]camera.Capture{}
	for _, c := range s.all() {
		byName[c.Image.Size] = c
	}

	c := byName[int64(len(photo))]
	m := c.Image
	if m.Eye != lane.EyeLeft || m.MediaType != "image/png" || m.Width != 40 || m.Height != 30 || m.Kind != lane.ImageColor ||
		!m.CapturedAt.Equal(mtime) || c.Source != "folder:fundus" || c.FieldOfView != 45 || m.Instrument.Model != "FC-1" || !bytes.Equal(c.Data, photo) {
		t.Errorf("photo capture %+v (source %s)", m, c.Source)
	}
	if len(c.Notes) != 0 {
		t.Errorf("photo notes %q", c.Notes)
	}

	d := byName[int64(len(dcm))]
	dm := d.Image
	wantAt := time.Date(2024, 3, 14, 10, 15, 2, 250e6, time.Local)
	if dm.Eye != lane.EyeRight || dm.MediaType != "application/dicom" || dm.PixelSpacingUM != 12.5 || !dm.CapturedAt.Equal(wantAt) ||
		dm.StudyUID != "1.2.826.0.1.3680043.10.1453.1" || dm.InstanceUID == "" || dm.Instrument.Vendor != "SYNTHETIC" || dm.Kind != lane.ImageColor {
		t.Errorf("DICOM capture %+v", dm)
	}
	if d.Patient.ID != "SYN-0001" || strings.Contains(fmt.Sprint(d), "SYN-0001") {
		t.Errorf("DICOM patient %v: must be kept but never printed", d.Patient)
	}

	u := byName[int64(len(pngBytes(t, 20, 10, true)))]
	if u.Image.Eye != lane.EyeUnknown || u.Image.CapturedAt.IsZero() || u.Image.CapturedAt.Equal(now) || u.Image.Kind != lane.ImageOther || len(u.Notes) != 1 {
		t.Errorf("unnamed capture %+v notes %q", u.Image, u.Notes)
	}

	// The files left the folder: imported and duplicate ones archived,
	// the broken one in failed/ with the reason beside it.
	left, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	if len(left) != 0 {
		t.Errorf("files left in the folder: %v", left)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "broken.jpg.error.txt"))
	if err != nil || !strings.Contains(string(reason), "not an image the lane can import") {
		t.Errorf("failure note %q, %v", reason, err)
	}
}

func TestFolderEyeAndKind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cam    camera.Camera
		file   string
		data   func(t *testing.T) []byte
		eye    lane.Eye
		kind   lane.ImageKind
		noteIn string
	}{
		{"folder eye", camera.Camera{Eye: lane.EyeRight}, "a.png", func(t *testing.T) []byte { return pngBytes(t, 8, 8, false) }, lane.EyeRight, lane.ImageColor, ""},
		{"name beats folder", camera.Camera{Eye: lane.EyeRight}, "a_LE.png", func(t *testing.T) []byte { return pngBytes(t, 8, 8, false) }, lane.EyeLeft, lane.ImageColor, "check the eye"},
		{"red-free camera", camera.Camera{Kind: lane.ImageRedFree}, "b_right.png", func(t *testing.T) []byte { return pngBytes(t, 8, 8, false) }, lane.EyeRight, lane.ImageRedFree, ""},
		{"DICOM beats name", camera.Camera{}, "scan_OD.dcm", func(t *testing.T) []byte { return fixture(t, "op_mono8_jpeg.dcm") }, lane.EyeLeft, lane.ImageRedFree, "file name says the right eye"},
		{"DICOM beats folder", camera.Camera{Eye: lane.EyeRight}, "x.dcm", func(t *testing.T) []byte { return fixture(t, "op_mono8_native.dcm") }, lane.EyeLeft, lane.ImageRedFree, "set up for the right eye"},
		{"unrenderable DICOM", camera.Camera{}, "j2k.dcm", func(t *testing.T) []byte { return fixture(t, "op_j2k.dcm") }, lane.EyeLeft, lane.ImageColor, "cannot display"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newSink()
			tc.cam.Name, tc.cam.Folder = "cam", dir
			im := newImporter(t, s, tc.cam)
			write(t, dir, tc.file, tc.data(t), time.Time{})
			if _, err := im.Scan(t.Context()); err != nil {
				t.Fatal(err)
			}
			caps := s.all()
			if len(caps) != 1 {
				t.Fatalf("%d captures", len(caps))
			}
			c := caps[0]
			if c.Image.Eye != tc.eye || c.Image.Kind != tc.kind {
				t.Errorf("eye %v kind %v, want %v %v", c.Image.Eye, c.Image.Kind, tc.eye, tc.kind)
			}
			notes := strings.Join(c.Notes, " ")
			if (tc.noteIn == "") != (notes == "") || !strings.Contains(notes, tc.noteIn) {
				t.Errorf("notes %q, want %q", notes, tc.noteIn)
			}
		})
	}
}

func TestEmitRefusal(t *testing.T) {
	dir := t.TempDir()
	s := newSink()
	s.err = errors.New("no chart is open")
	im := newImporter(t, s, camera.Camera{Name: "cam", Folder: dir})
	write(t, dir, "a.png", pngBytes(t, 8, 8, false), time.Time{})
	if res, err := im.Scan(t.Context()); err != nil || res.Failed != 1 {
		t.Fatalf("scan %+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "failed", "a.png")); err != nil {
		t.Fatal(err)
	}
}

func TestEyeFromName(t *testing.T) {
	for name, want := range map[string]lane.Eye{
		"IMG_0042_OD.jpg": lane.EyeRight, "os-2024.png": lane.EyeLeft, "Right eye.tif": lane.EyeRight,
		"LEFT.dcm": lane.EyeLeft, "ODOS.jpg": lane.EyeUnknown, "OD_OS.jpg": lane.EyeUnknown,
		"GOOD.jpg": lane.EyeUnknown, "IMG_1.jpg": lane.EyeUnknown, "dir_OD/img.jpg": lane.EyeUnknown,
	} {
		if got := camera.EyeFromName(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	s := newSink()
	for name, cfg := range map[string]camera.Config{
		"no emit":      {Cameras: []camera.Camera{{Name: "a", Folder: "x"}}, StateDir: t.TempDir()},
		"no name":      {Cameras: []camera.Camera{{Folder: "x"}}, Emit: s.emit, StateDir: t.TempDir()},
		"no source":    {Cameras: []camera.Camera{{Name: "a"}}, Emit: s.emit, StateDir: t.TempDir()},
		"twice":        {Cameras: []camera.Camera{{Name: "a", Folder: "x"}, {Name: "a", Folder: "y"}}, Emit: s.emit, StateDir: t.TempDir()},
		"no state dir": {Cameras: []camera.Camera{{Name: "a", Folder: "x"}}, Emit: s.emit},
	} {
		if _, err := camera.New(cfg); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// TestUSBCamera imports captures from a scripted PTP camera, and shows
// that a picture that then also lands in the export folder is not
// imported twice.
func TestUSBCamera(t *testing.T) {
	cam := ptptest.New()
	cam.Add("OLD_0001.JPG", ptp.FormatEXIFJPEG, ptptest.JPEG(32, 24, 7), "20240301T080000")
	dir := t.TempDir()
	s := newSink()
	opened := make(chan struct{}, 4)
	im, err := camera.New(camera.Config{
		Cameras: []camera.Camera{{Name: "fundus", USB: &ptp.USBDevice{}, Folder: dir, Stable: -1, Eye: lane.EyeLeft}},
		Emit:    s.emit, StateDir: t.TempDir(), Poll: 5 * time.Millisecond, Now: func() time.Time { return now }, Logf: t.Logf,
		OpenUSB: func(context.Context, ptp.USBDevice) (ptp.Transport, error) {
			opened <- struct{}{}
			return cam, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- im.Run(ctx) }()
	<-opened
	img := ptptest.JPEG(64, 48, 1)
	// The watcher may still be listing the objects already on the camera;
	// keep capturing until one import arrives.
	var c camera.Capture
	deadline := time.After(10 * time.Second)
	for i := 0; c.Data == nil; i++ {
		img = ptptest.JPEG(64, 48, i+1)
		cam.Capture(fmt.Sprintf("IMG_%04d.JPG", i+2), img)
		select {
		case c = <-s.got:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no capture from the USB camera")
		}
	}
	m := c.Image
	if c.Source != "usb:fundus" || m.MediaType != "image/jpeg" || m.Width != 64 || m.Eye != lane.EyeLeft ||
		m.Instrument.Model != "FC-1 Fundus" || !m.CapturedAt.Equal(time.Date(2024, 3, 5, 10, 15, 0, 0, time.Local)) {
		t.Errorf("USB capture %+v source %s", m, c.Source)
	}
	write(t, dir, "IMG_0002.JPG", c.Data, time.Time{})
	// Wait until the folder watcher has dealt with the file (archived as
	// a duplicate).
	for {
		if _, err := os.Stat(filepath.Join(dir, "IMG_0002.JPG")); errors.Is(err, os.ErrNotExist) {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the folder copy was never handled")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, x := range s.all() {
		if x.Source == "folder:fundus" {
			t.Error("the same picture was imported again from the folder")
		}
		if bytes.Equal(x.Data, ptptest.JPEG(32, 24, 7)) {
			t.Error("a picture already on the camera was imported")
		}
	}
	if f := cam.Faults(); len(f) > 0 {
		t.Errorf("protocol errors: %q", f)
	}
}
