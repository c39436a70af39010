// Package camera imports retinal and anterior-segment photographs from the
// cameras of an exam lane: folders a camera (or its software) exports
// into, watched with devices/filedrop, and cameras connected over USB that
// speak PTP, watched with devices/ptp. Every image is checked and described
// with devices/imaging (pixel budget; for DICOM the laterality, image
// kind, acquisition time, pixel spacing, UIDs and instrument) and handed to
// Emit as a Capture: the lane.Image metadata, the exact bytes, and where
// it came from. cmd files each Capture with lane.Service.AttachImage for
// the chart that is open.
//
// The eye comes from the DICOM laterality when there is one, else from an
// OD/OS (RE/LE, RIGHT/LEFT) word in the file name, else from the camera's
// configuration (for example one export folder per eye), else it is left
// unknown for the clinician to set. The capture time comes from DICOM,
// else from the camera's PTP capture date, else from the file's
// modification time (EXIF is not read), else the clock.
package camera

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/devices/filedrop"
	"github.com/examlane/examlane/devices/imaging"
	"github.com/examlane/examlane/devices/ptp"
	"github.com/examlane/examlane/lane"
)

// Camera is one configured camera: an export folder, a USB (PTP) camera,
// or both.
type Camera struct {
	// Name identifies the camera in the configuration and in Capture.Source.
	Name string
	// Folder is an export folder to watch (empty: none). Pattern is a
	// glob for the image files (default "*": any file the decoder
	// recognises); Stable is how long a file must be unchanged before it
	// is read (default 2 s).
	Folder  string
	Pattern string
	Stable  time.Duration
	// USB selects a PTP camera on USB; nil means none. A zero USBDevice
	// takes the first PTP camera found.
	USB *ptp.USBDevice
	// ImportExisting imports the pictures already on a USB camera when it
	// connects (see ptp.WatchConfig).
	ImportExisting bool
	// Eye is the eye this camera's images show when the image does not say
	// (e.g. one export folder per eye); EyeUnknown leaves it to the image.
	Eye lane.Eye
	// Kind is the image kind when the image does not say (default
	// lane.ImageColor for colour pictures).
	Kind lane.ImageKind
	// FieldOfView is the camera's horizontal field of view in degrees (0
	// when unknown), for measurements on images without pixel spacing.
	FieldOfView float64
	// Instrument describes the camera when the image does not.
	Instrument lane.InstrumentRef
}

// Capture is one image received from a camera.
type Capture struct {
	// Image is the metadata for lane.Service.AttachImage: MediaType,
	// Width, Height, Eye, Kind, CapturedAt, Size and SHA256 always; for
	// DICOM also PixelSpacingUM, the UIDs and the instrument. ID,
	// PatientID and EncounterID are for cmd to set.
	Image lane.Image
	// Data is the file exactly as received.
	Data []byte
	// Source says where it came from: "folder:<camera>" or "usb:<camera>".
	Source string
	// Camera is the configured camera's name; FieldOfView its field of
	// view in degrees (0 when unknown).
	Camera      string
	FieldOfView float64
	// Patient is the identity a DICOM file carries (redacted when
	// printed), for cmd to check against the open chart.
	Patient imaging.Patient
	// Notes says what the clinician should check (the eye is unknown, the
	// file name and the DICOM header disagree, the pixels cannot be shown
	// on the lane).
	Notes []string
}

// Config configures an Importer.
type Config struct {
	Cameras []Camera
	// Emit receives each capture, from the goroutine watching its camera.
	// A nil error means the capture was taken (the export file is then
	// archived, the USB object remembered); an error sends an export file
	// to the folder's "failed" folder with the reason, and leaves a USB
	// object to be offered again. cmd should queue a capture that arrives
	// while no chart is open rather than refuse it.
	Emit func(ctx context.Context, c Capture) error
	// Decoder checks and describes images (default imaging.New with the
	// default pixel budget).
	Decoder *imaging.Decoder
	// Seen remembers handled contents (shared by every camera, so a
	// picture that arrives by USB and again in a folder is imported once).
	// The default is a file in StateDir.
	Seen filedrop.Seen
	// StateDir keeps the seen file (required when Seen is nil).
	StateDir string
	// Poll is how often folders are scanned and USB cameras polled
	// (defaults: 500 ms and 2 s); Now the clock (default time.Now).
	Poll time.Duration
	Now  func() time.Time
	// OpenUSB opens a PTP camera (default ptp.OpenUSB); tests script one.
	OpenUSB func(ctx context.Context, d ptp.USBDevice) (ptp.Transport, error)
	// Logf receives one line per notable event (optional); lines never
	// carry file names or patient data.
	Logf func(format string, args ...any)
}

// MaxFileSize is the largest export file read: 256 MiB, enough for an
// uncompressed multi-frame DICOM.
const MaxFileSize = 256 << 20

// Importer watches every configured camera. Run owns its goroutines.
type Importer struct {
	cfg   Config
	logf  func(string, ...any)
	drops []*filedrop.Watcher
	usbs  []*ptp.Watcher
}

// New checks cfg and returns an Importer. Errors wrap lane.ErrInvalid.
func New(cfg Config) (*Importer, error) {
	if cfg.Emit == nil {
		return nil, lane.Invalidf("camera: no Emit")
	}
	if cfg.Decoder == nil {
		cfg.Decoder = imaging.New(imaging.Config{})
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OpenUSB == nil {
		cfg.OpenUSB = func(_ context.Context, d ptp.USBDevice) (ptp.Transport, error) { return ptp.OpenUSB(d) }
	}
	im := &Importer{cfg: cfg, logf: cfg.Logf}
	if im.logf == nil {
		im.logf = func(string, ...any) {}
	}
	if cfg.Seen == nil {
		if cfg.StateDir == "" {
			return nil, lane.Invalidf("camera: no seen memory and no state folder")
		}
		s, err := filedrop.OpenSeenFile(filepath.Join(cfg.StateDir, "camera-seen"))
		if err != nil {
			return nil, fmt.Errorf("camera: %w", err)
		}
		im.cfg.Seen = s
	}
	names := map[string]bool{}
	for _, c := range cfg.Cameras {
		if strings.TrimSpace(c.Name) == "" {
			return nil, lane.Invalidf("camera: a camera has no name")
		}
		if names[c.Name] {
			return nil, lane.Invalidf("camera %q: configured twice", c.Name)
		}
		names[c.Name] = true
		if c.Folder == "" && c.USB == nil {
			return nil, lane.Invalidf("camera %q: neither a folder nor USB", c.Name)
		}
		if c.Folder != "" {
			w, err := filedrop.New(filedrop.Config{
				Dir: c.Folder, Pattern: c.Pattern, Stable: c.Stable, Poll: cfg.Poll, Seen: im.cfg.Seen,
				MaxSize: MaxFileSize, Now: cfg.Now, Logf: cfg.Logf,
				Handle: func(ctx context.Context, f filedrop.File) error { return im.handleFile(ctx, c, f) },
			})
			if err != nil {
				return nil, lane.Invalidf("camera %q: %v", c.Name, err)
			}
			im.drops = append(im.drops, w)
		}
		if c.USB != nil {
			dev := *c.USB
			w, err := ptp.NewWatcher(ptp.WatchConfig{
				Open:           func(ctx context.Context) (ptp.Transport, error) { return im.cfg.OpenUSB(ctx, dev) },
				Handle:         func(ctx context.Context, o ptp.Object) error { return im.handleObject(ctx, c, o) },
				ImportExisting: c.ImportExisting, Seen: im.cfg.Seen, Poll: max(cfg.Poll, 0), Logf: cfg.Logf,
			})
			if err != nil {
				return nil, lane.Invalidf("camera %q: %v", c.Name, err)
			}
			im.usbs = append(im.usbs, w)
		}
	}
	return im, nil
}

// Run watches every camera until ctx ends, then returns nil. Folder
// errors (a share not mounted) and USB errors (no camera plugged in) are
// logged and retried; they do not stop the others.
func (im *Importer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, w := range im.drops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Run(ctx, func(err error) {
				if err != nil {
					im.logf("camera: export folder: %v", err)
				}
			})
		}()
	}
	for _, w := range im.usbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// Scan looks at every export folder once (for tests and a "check now"
// button); USB cameras are only watched by Run.
func (im *Importer) Scan(ctx context.Context) (filedrop.Result, error) {
	var total filedrop.Result
	var errs []error
	for _, w := range im.drops {
		r, err := w.Scan(ctx)
		total.Handled += r.Handled
		total.Failed += r.Failed
		total.Duplicates += r.Duplicates
		total.Waiting += r.Waiting
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func (im *Importer) handleFile(ctx context.Context, c Camera, f filedrop.File) error {
	cp, err := im.describe(c, f.Data, "folder:"+c.Name)
	if err != nil {
		return err
	}
	if cp.Image.CapturedAt.IsZero() && !f.ModTime.IsZero() {
		cp.Image.CapturedAt = f.ModTime
	}
	eyeFromName(&cp, f.Name)
	im.finish(c, &cp)
	return im.cfg.Emit(ctx, cp)
}

func (im *Importer) handleObject(ctx context.Context, c Camera, o ptp.Object) error {
	cp, err := im.describe(c, o.Data, "usb:"+c.Name)
	if err != nil {
		im.logf("camera %s: object %d: %v", c.Name, o.Handle, err)
		return err
	}
	if cp.Image.CapturedAt.IsZero() {
		if t, ok := ptp.ParseDateTime(o.Info.CaptureDate, time.Local); ok {
			cp.Image.CapturedAt = t
		}
	}
	if cp.Image.Instrument == (lane.InstrumentRef{}) {
		cp.Image.Instrument = lane.InstrumentRef{Vendor: o.Device.Manufacturer, Model: o.Device.Model, Serial: o.Device.SerialNumber}
	}
	eyeFromName(&cp, o.Info.Filename)
	im.finish(c, &cp)
	return im.cfg.Emit(ctx, cp)
}

// describe decodes data to check it and read its metadata. A DICOM file
// whose pixels the lane cannot render is still imported (the archive
// renders it), with a note.
func (im *Importer) describe(c Camera, data []byte, source string) (Capture, error) {
	d, err := im.cfg.Decoder.Decode(data)
	cp := Capture{Image: d.Meta, Data: data, Source: source, Camera: c.Name, FieldOfView: c.FieldOfView, Patient: d.Patient}
	switch {
	case err == nil:
	case errors.Is(err, imaging.ErrUnsupportedTransferSyntax), errors.Is(err, imaging.ErrUnsupportedPixelData):
		cp.Notes = append(cp.Notes, "The lane cannot display this DICOM image's pixels; the archive's rendering will be shown once it is uploaded.")
	default:
		return Capture{}, fmt.Errorf("camera %s: not an image the lane can import: %w", c.Name, err)
	}
	if d.DICOM != nil && d.DICOM.Laterality == "" {
		cp.Image.Eye = lane.EyeUnknown
	}
	return cp, nil
}

// finish applies the camera's defaults and the clock.
func (im *Importer) finish(c Camera, cp *Capture) {
	m := &cp.Image
	if m.Eye == lane.EyeUnknown && c.Eye != lane.EyeUnknown {
		m.Eye = c.Eye
	} else if m.Eye != lane.EyeUnknown && c.Eye != lane.EyeUnknown && m.Eye != c.Eye && m.Eye != lane.EyeBoth {
		cp.Notes = append(cp.Notes, fmt.Sprintf("The image says %s but camera %s is set up for %s: check the eye.", eyeWord(m.Eye), c.Name, eyeWord(c.Eye)))
	}
	if m.Eye == lane.EyeUnknown {
		cp.Notes = append(cp.Notes, "The eye is not recorded: set it before signing.")
	}
	if c.Kind != "" && (m.Kind == "" || (m.Kind == lane.ImageColor && cp.Image.MediaType != "application/dicom")) {
		m.Kind = c.Kind
	}
	if m.Kind == "" {
		m.Kind = lane.ImageOther
	}
	if m.Instrument == (lane.InstrumentRef{}) {
		m.Instrument = c.Instrument
	}
	if m.CapturedAt.IsZero() {
		m.CapturedAt = im.cfg.Now()
	}
}

func eyeWord(e lane.Eye) string {
	switch e {
	case lane.EyeRight:
		return "the right eye"
	case lane.EyeLeft:
		return "the left eye"
	case lane.EyeBoth:
		return "both eyes"
	}
	return "an unknown eye"
}

// EyeFromName reads the eye from words in a file name: OD, RE or RIGHT
// for the right eye, OS, LE or LEFT for the left (any case, separated by
// non-letters, e.g. "IMG_0042_OD.jpg"). It returns EyeUnknown when no word
// or both eyes' words appear.
func EyeFromName(name string) lane.Eye {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	words := strings.FieldsFunc(strings.ToUpper(base), func(r rune) bool { return r < 'A' || r > 'Z' })
	var right, left bool
	for _, w := range words {
		switch w {
		case "OD", "RE", "RIGHT":
			right = true
		case "OS", "LE", "LEFT":
			left = true
		}
	}
	switch {
	case right && !left:
		return lane.EyeRight
	case left && !right:
		return lane.EyeLeft
	}
	return lane.EyeUnknown
}

// eyeFromName fills the eye from the file name when the header has none,
// and notes a disagreement.
func eyeFromName(cp *Capture, name string) {
	e := EyeFromName(name)
	switch {
	case e == lane.EyeUnknown:
	case cp.Image.Eye == lane.EyeUnknown:
		cp.Image.Eye = e
	case cp.Image.Eye != e && cp.Image.Eye != lane.EyeBoth:
		cp.Notes = append(cp.Notes, fmt.Sprintf("The DICOM header says %s but the file name says %s: check the eye.", eyeWord(cp.Image.Eye), eyeWord(e)))
	}
}
