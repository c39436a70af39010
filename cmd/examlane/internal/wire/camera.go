package wire

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/devices/camera"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
)

// CameraKind is how the pretest and exam screens name a camera.
const CameraKind = "fundus camera"

// cameraProfile is the instrument profile name a camera shows under: it
// keeps cameras apart from the hub's instrument profiles.
func cameraProfile(name string) string { return "camera:" + name }

// Camera is one configured camera as Cameras knows it.
type Camera struct {
	camera.Camera
	// Trigger, when set, makes the camera take a picture: demo mode's
	// simulated fundus camera. Real cameras are triggered at the camera.
	Trigger func()
}

// CamerasConfig configures Cameras.
type CamerasConfig struct {
	Service *lane.Service
	Cameras []Camera
	// StateDir keeps the importer's memory of handled pictures.
	StateDir string
	// Poll is how often export folders are scanned (the importer's
	// default when zero).
	Poll time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logf receives diagnostics (no patient data); nil discards them.
	Logf func(format string, args ...any)
}

// Cameras runs the lane's cameras: every picture an export folder or a
// USB camera delivers is filed with lane.Service.IngestImage (in the open
// chart's visit, or queued for a person to assign when no chart is open),
// and each camera's state is published as lane.InstrumentChanged so that
// the status bar counts it. It is safe for concurrent use.
type Cameras struct {
	svc  *lane.Service
	im   *camera.Importer
	list []Camera
	now  func() time.Time
	logf func(string, ...any)

	mu     sync.Mutex
	states map[string]lane.InstrumentState // by camera name; guarded by mu
}

// NewCameras checks cfg and returns the cameras, not yet running. Errors
// wrap lane.ErrInvalid.
func NewCameras(cfg CamerasConfig) (*Cameras, error) {
	if cfg.Service == nil {
		return nil, lane.Invalidf("cameras: no service")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cameras{svc: cfg.Service, list: slices.Clone(cfg.Cameras), now: cfg.Now, logf: cfg.Logf,
		states: map[string]lane.InstrumentState{}}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	cams := make([]camera.Camera, len(cfg.Cameras))
	for i, x := range cfg.Cameras {
		if x.Instrument == (lane.InstrumentRef{}) {
			// Pictures that do not name their camera show the lane's name for it.
			x.Instrument = lane.InstrumentRef{Model: x.Name, Profile: cameraProfile(x.Name)}
		}
		cams[i] = x.Camera
		c.states[x.Name] = c.probe(x, lane.InstrumentState{})
	}
	im, err := camera.New(camera.Config{Cameras: cams, Emit: c.emit, StateDir: cfg.StateDir, Poll: cfg.Poll,
		Now: cfg.Now, Logf: cfg.Logf})
	if err != nil {
		return nil, fmt.Errorf("cameras: %w", err)
	}
	c.im = im
	return c, nil
}

// probe returns a camera's state from its export folder: connected when
// the folder is there, disconnected otherwise. A USB-only camera shows as
// connected once it delivered a picture.
func (c *Cameras) probe(x Camera, prev lane.InstrumentState) lane.InstrumentState {
	st := prev
	st.Profile, st.Name = cameraProfile(x.Name), x.Name
	st.Port = x.Folder
	if x.Folder == "" {
		st.Port = "USB"
		if st.State == "" {
			st.State = "disconnected"
		}
		return st
	}
	if fi, err := os.Stat(x.Folder); err == nil && fi.IsDir() {
		if st.State != "receiving" {
			st.State, st.LastError = "connected", ""
		}
	} else {
		st.State, st.LastError = "disconnected", "The export folder is not reachable."
	}
	return st
}

// Run watches every camera until ctx ends, publishing each camera's state
// at start and whenever it changes, then returns nil.
func (c *Cameras) Run(ctx context.Context) error {
	for _, st := range c.States() {
		c.svc.Publish(lane.InstrumentChanged{State: st})
	}
	done := make(chan struct{})
	go func() { // owned by Run: stops with ctx, awaited below
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.reprobe()
			}
		}
	}()
	err := c.im.Run(ctx)
	<-done
	return err
}

// reprobe publishes the cameras whose folder appeared or went away.
func (c *Cameras) reprobe() {
	for _, x := range c.list {
		c.mu.Lock()
		prev := c.states[x.Name]
		st := c.probe(x, prev)
		c.states[x.Name] = st
		c.mu.Unlock()
		if st != prev {
			c.svc.Publish(lane.InstrumentChanged{State: st})
		}
	}
}

// Scan looks at every export folder once (tests, and a "check now").
func (c *Cameras) Scan(ctx context.Context) error {
	_, err := c.im.Scan(ctx)
	return err
}

// States returns every camera's current state, in configuration order.
func (c *Cameras) States() []lane.InstrumentState {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]lane.InstrumentState, 0, len(c.list))
	for _, x := range c.list {
		out = append(out, c.states[x.Name])
	}
	return out
}

// emit files one picture. A picture that arrives with no chart open is
// queued by the service, not refused: only a failure to keep it at all
// sends the export file to the folder's "failed" folder.
func (c *Cameras) emit(ctx context.Context, cp camera.Capture) error {
	out, err := c.svc.IngestImage(ctx, lane.ImageArrival{Image: cp.Image, Data: cp.Data, Source: cp.Source,
		PatientRef: cp.Patient.ID, Notes: cp.Notes})
	c.mu.Lock()
	st := c.states[cp.Camera]
	if err != nil {
		st.State, st.LastError = "error", "A picture could not be kept on the lane."
	} else {
		st.State, st.LastError, st.LastReading = "connected", "", c.now()
	}
	c.states[cp.Camera] = st
	c.mu.Unlock()
	c.svc.Publish(lane.InstrumentChanged{State: st})
	if err != nil {
		c.logf("wire: camera %s: picture not kept: %v", cp.Camera, err)
		return err
	}
	where := "filed in the open visit"
	if out.PatientID == "" {
		where = "queued for assignment"
	}
	c.logf("wire: camera %s: picture %s", cp.Camera, where)
	return nil
}

// trigger asks the camera with this profile to take a picture.
func (c *Cameras) trigger(profile string) error {
	for _, x := range c.list {
		if cameraProfile(x.Name) == profile {
			if x.Trigger == nil {
				return fmt.Errorf("capture on %s: the lane cannot trigger this camera: %w", x.Name, lane.ErrUnavailable)
			}
			x.Trigger()
			return nil
		}
	}
	return fmt.Errorf("capture on %s: %w", profile, lane.ErrNotFound)
}

// owns reports whether profile names one of the cameras.
func (c *Cameras) owns(profile string) bool {
	return slices.ContainsFunc(c.list, func(x Camera) bool { return cameraProfile(x.Name) == profile })
}

// infos returns the cameras as the screens list them.
func (c *Cameras) infos() []ui.InstrumentInfo {
	sts := c.States()
	out := make([]ui.InstrumentInfo, len(sts))
	for i, st := range sts {
		out[i] = ui.InstrumentInfo{InstrumentState: st, Kind: CameraKind, CanMeasure: c.list[i].Trigger != nil}
	}
	return out
}

// WithCameras returns ui.Instruments listing the instruments of inner
// (nil for none) followed by the cameras; Measure on a camera triggers it
// (demo mode), anything else goes to inner.
func WithCameras(inner ui.Instruments, cams *Cameras) ui.Instruments {
	if cams == nil {
		return inner
	}
	return &withCameras{inner: inner, cams: cams}
}

type withCameras struct {
	inner ui.Instruments
	cams  *Cameras
}

func (w *withCameras) List() []ui.InstrumentInfo {
	var out []ui.InstrumentInfo
	if w.inner != nil {
		out = w.inner.List()
	}
	return append(out, w.cams.infos()...)
}

func (w *withCameras) Measure(ctx context.Context, profile string) error {
	if w.cams.owns(profile) {
		return w.cams.trigger(profile)
	}
	if w.inner == nil {
		return fmt.Errorf("measure %s: %w", profile, lane.ErrNotFound)
	}
	return w.inner.Measure(ctx, profile)
}

func (w *withCameras) SendRx(ctx context.Context, profile string, rx lane.RxPair) error {
	if w.inner == nil || w.cams.owns(profile) {
		return fmt.Errorf("send rx to %s: %w", profile, lane.ErrUnavailable)
	}
	return w.inner.SendRx(ctx, profile, rx)
}

// ConfigCameras turns the lane configuration's [[camera]] tables into
// cameras: one export folder each, the eye read from the file (DICOM
// laterality, or OD/OS in the file name).
func ConfigCameras(cs []laneconfig.Camera) []Camera {
	out := make([]Camera, 0, len(cs))
	for _, c := range cs {
		out = append(out, Camera{Camera: camera.Camera{Name: c.Name, Folder: c.Folder, Pattern: c.Pattern}})
	}
	return out
}
