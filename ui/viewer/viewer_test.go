package viewer

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
	"github.com/examlane/examlane/ui/retina/synth"
)

// fakeStore is an in-memory Source and AnnotationStore.
type fakeStore struct {
	mu      sync.Mutex
	data    map[lane.ImageID][]byte
	anns    map[lane.ImageID][]lane.Annotation
	saved   []lane.Annotation
	failErr error // returned by SaveAnnotation while set
	dataErr error
	next    int
}

func newFakeStore() *fakeStore {
	return &fakeStore{data: map[lane.ImageID][]byte{}, anns: map[lane.ImageID][]lane.Annotation{}}
}

func (s *fakeStore) ImageData(_ context.Context, img lane.Image) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dataErr != nil {
		return nil, s.dataErr
	}
	d, ok := s.data[img.ID]
	if !ok {
		return nil, lane.ErrNotFound
	}
	return d, nil
}

func (s *fakeStore) Annotations(_ context.Context, img lane.Image) ([]lane.Annotation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]lane.Annotation(nil), s.anns[img.ID]...), nil
}

func (s *fakeStore) SaveAnnotation(_ context.Context, img lane.Image, a lane.Annotation) (lane.Annotation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return lane.Annotation{}, s.failErr
	}
	if a.ImageID != img.ID {
		return lane.Annotation{}, lane.Invalidf("other image")
	}
	if a.ID == "" {
		s.next++
		a.ID = "an" + string(rune('0'+s.next))
	}
	a.Author = "u1"
	s.saved = append(s.saved, a)
	return a, nil
}

// fundus returns a small synthetic fundus and its geometry.
func fundus(t testing.TB, w, h int, eye lane.Eye, seed uint64) (*image.RGBA, synth.Geometry) {
	t.Helper()
	return synth.Generate(synth.Params{Width: w, Height: h, Seed: seed, Eye: eye, Noise: -1})
}

// newTestViewer shows a 640×480 synthetic fundus in a viewer of 400×300
// (test canvas scale 1) that renders synchronously.
func newTestViewer(t *testing.T, store *fakeStore) (*Viewer, fyne.Window, synth.Geometry) {
	t.Helper()
	test.NewTempApp(t)
	cfg := Config{}
	if store != nil {
		cfg.Store, cfg.Source = store, store
	}
	v := New(t.Context(), cfg)
	v.sync = true
	w := test.NewTempWindow(t, v)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(400, 300))
	m, g := fundus(t, 640, 480, lane.EyeRight, 3)
	v.SetImage(lane.Image{ID: "img1", PatientID: "p1", Eye: lane.EyeRight, PixelSpacingUM: 10}, retina.NewPyramid(m), nil)
	return v, w, g
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestViewerFitsOnShow(t *testing.T) {
	v, _, _ := newTestViewer(t, nil)
	if v.ViewportSize() != image.Pt(400, 300) {
		t.Fatalf("viewport %v, want 400×300", v.ViewportSize())
	}
	want := retina.Fit(image.Pt(640, 480), image.Pt(400, 300), 0)
	if v.View() != want {
		t.Fatalf("view %+v, want fit %+v", v.View(), want)
	}
	if f := v.Frame(); f == nil || f.Rect.Size() != image.Pt(400, 300) {
		t.Fatalf("no 400×300 frame: %v", f)
	}
}

func TestViewerZoomPanKeys(t *testing.T) {
	v, w, _ := newTestViewer(t, nil)
	c := w.Canvas()
	fit := v.View()

	// Wheel: one notch zooms 1.25× around the pointer. test.Scroll sends
	// no position, so the pointer is at the viewport's origin.
	before := v.View().ImagePoint(lane.Point{}, v.ViewportSize())
	test.Scroll(c, fyne.NewPos(200, 150), 0, wheelNotch)
	if got := v.View().Scale; !near(got, fit.Scale*wheelZoom) {
		t.Fatalf("scale after a wheel notch %v, want %v", got, fit.Scale*wheelZoom)
	}
	after := v.View().ImagePoint(lane.Point{}, v.ViewportSize())
	if !near(before.X, after.X) || !near(before.Y, after.Y) {
		t.Fatalf("zoom moved the point under the pointer: %v → %v", before, after)
	}
	test.Scroll(c, fyne.NewPos(200, 150), 0, -wheelNotch)
	if got := v.View().Scale; !near(got, fit.Scale) {
		t.Fatalf("scale after zooming back %v, want %v", got, fit.Scale)
	}

	// Drag pans: the picture follows the pointer.
	c0 := v.View().Center
	test.Drag(c, fyne.NewPos(200, 150), 40, -20)
	c1 := v.View().Center
	if !near(c1.X, c0.X-40/fit.Scale) || !near(c1.Y, c0.Y+20/fit.Scale) {
		t.Fatalf("centre after dragging (40,−20): %v, want %v", c1, lane.Point{X: c0.X - 40/fit.Scale, Y: c0.Y + 20/fit.Scale})
	}

	for _, tc := range []struct {
		keys  string
		check func(retina.View) bool
		what  string
	}{
		{"0", func(vw retina.View) bool { return vw == fit }, "0 fits"},
		{"+", func(vw retina.View) bool { return near(vw.Scale, fit.Scale*keyZoom) }, "+ zooms in"},
		{"-", func(vw retina.View) bool { return near(vw.Scale, fit.Scale) }, "− zooms out"},
		{"a", func(vw retina.View) bool { return vw.Scale == 1 }, "A shows 1:1"},
		{"r", func(vw retina.View) bool { return vw.Rotation == 90 }, "R rotates clockwise"},
		{"R", func(vw retina.View) bool { return vw.Rotation == 0 }, "Shift+R rotates back"},
		{"h", func(vw retina.View) bool { return vw.FlipH && !vw.FlipV }, "H flips horizontally"},
		{"v", func(vw retina.View) bool { return vw.FlipH && vw.FlipV }, "V flips vertically"},
		{"hv0", func(vw retina.View) bool { return vw == fit }, "flipping back and fitting"},
	} {
		test.Type(v, tc.keys)
		if !tc.check(v.View()) {
			t.Errorf("%s: view %+v", tc.what, v.View())
		}
	}

	// Arrow keys pan by a tenth of the viewport's shorter side.
	test.Type(v, "+")
	c0 = v.View().Center
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
	if dx := (v.View().Center.X - c0.X) * v.View().Scale; !near(dx, keyPan*300) {
		t.Errorf("right arrow moved the view %v px, want %v", dx, keyPan*300)
	}
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if v.View() != fit {
		t.Errorf("Esc left view %+v, want fit", v.View())
	}
}

func TestViewerAdjustKeys(t *testing.T) {
	v, _, _ := newTestViewer(t, nil)
	changed := 0
	v.OnChanged = func() { changed++ }
	frame := func() []byte { return append([]byte(nil), v.Frame().Pix...) }
	plain := frame()
	for _, tc := range []struct {
		keys string
		want retina.Adjust
	}{
		{"b", retina.Adjust{Brightness: 0.05}},
		{"bB", retina.Adjust{Brightness: 0.05}},
		{"Bc", retina.Adjust{Contrast: 0.05}},
		{"Cg", retina.Adjust{Gamma: 1.1}},
		{"G", retina.Adjust{}},
		{"f", retina.Adjust{Channel: retina.RedFree, Tint: true}},
		{"f1", retina.Adjust{Channel: retina.RedOnly}},
		{"2", retina.Adjust{Channel: retina.GreenOnly}},
		{"3", retina.Adjust{Channel: retina.BlueOnly}},
		{"3e", retina.Adjust{CLAHE: true}},
		{"ei", retina.Adjust{Invert: true}},
	} {
		test.Type(v, tc.keys)
		if v.Adjust() != tc.want {
			t.Errorf("after %q: %+v, want %+v", tc.keys, v.Adjust(), tc.want)
		}
	}
	if bytes.Equal(frame(), plain) {
		t.Error("inverting did not change the frame")
	}
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if !v.Adjust().IsZero() || !bytes.Equal(frame(), plain) {
		t.Errorf("Esc left %+v and a different frame", v.Adjust())
	}
	if changed == 0 {
		t.Error("OnChanged never called")
	}
}

func TestViewerPhysicalPixels(t *testing.T) {
	v, w, _ := newTestViewer(t, nil)
	w.Canvas().(test.WindowlessCanvas).SetScale(2)
	w.Resize(fyne.NewSize(401, 300)) // force a layout at the new scale
	w.Resize(fyne.NewSize(400, 300))
	if v.ViewportSize() != image.Pt(800, 600) {
		t.Fatalf("viewport at scale 2: %v, want 800×600", v.ViewportSize())
	}
	if v.Frame().Rect.Size() != image.Pt(800, 600) {
		t.Fatalf("frame %v, want 800×600 physical pixels", v.Frame().Rect.Size())
	}
	// The view kept its place: still fitted.
	if want := retina.Fit(image.Pt(640, 480), image.Pt(800, 600), 0); !near(v.View().Scale, want.Scale) {
		t.Fatalf("scale %v, want %v", v.View().Scale, want.Scale)
	}
	// A drag of 10 Fyne units is 20 physical pixels.
	c0, s := v.View().Center, v.View().Scale
	test.Drag(w.Canvas(), fyne.NewPos(100, 100), 10, 0)
	if dx := (c0.X - v.View().Center.X) * s; !near(dx, 20) {
		t.Fatalf("a 10-unit drag moved %v physical px, want 20", dx)
	}
}

func TestViewerAnnotate(t *testing.T) {
	st := newFakeStore()
	v, w, g := newTestViewer(t, st)
	c := w.Canvas()
	vp := v.ViewportSize()
	toScreen := func(p lane.Point) fyne.Position {
		q := v.View().ViewportPoint(p, vp)
		return fyne.NewPos(float32(q.X), float32(q.Y))
	}

	// Length: drag from one point to another.
	v.SetTool(ToolLength)
	a, b := lane.Point{X: 100, Y: 100}, lane.Point{X: 300, Y: 100}
	pb := toScreen(b)
	pa := toScreen(a)
	test.Drag(c, pb, pb.X-pa.X, 0)
	if len(st.saved) != 1 {
		t.Fatalf("saved %d marks, want 1", len(st.saved))
	}
	got := st.saved[0]
	if got.Kind != lane.AnnotLength || len(got.Points) != 2 || math.Abs(got.Points[0].X-a.X) > 1 || math.Abs(got.Points[1].X-b.X) > 1 {
		t.Fatalf("saved %+v, want a length from %v to %v", got, a, b)
	}
	// 200 px at 10 µm/px is 2 mm.
	if r := v.Readout(); !strings.Contains(r, "Length 2.00 mm") {
		t.Errorf("readout %q, want the length in mm", r)
	}

	// Disc and cup outlines traced around the synthetic disc give the
	// cup-to-disc ratios.
	trace := func(tool Tool, cx, cy, rx, ry float64) {
		v.SetTool(tool)
		prev := toScreen(lane.Point{X: cx + rx, Y: cy})
		for i := 1; i <= 40; i++ {
			th := 2 * math.Pi * float64(i) / 40
			p := toScreen(lane.Point{X: cx + rx*math.Cos(th), Y: cy + ry*math.Sin(th)})
			v.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: p}, Dragged: fyne.Delta{DX: p.X - prev.X, DY: p.Y - prev.Y}})
			prev = p
		}
		if r := v.Readout(); !strings.Contains(r, "area") {
			t.Errorf("live readout while tracing: %q", r)
		}
		v.DragEnd()
	}
	trace(ToolDisc, g.Disc[0], g.Disc[1], g.DiscRX, g.DiscRY)
	trace(ToolCup, g.Cup[0], g.Cup[1], g.CupRX, g.CupRY)
	if len(st.saved) != 3 {
		t.Fatalf("saved %d marks, want 3", len(st.saved))
	}
	r, err := retina.CupToDisc(st.saved[1], st.saved[2])
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Vertical-g.CupRY/g.DiscRY) > 0.05 {
		t.Errorf("vertical C/D %.3f, want about %.3f", r.Vertical, g.CupRY/g.DiscRY)
	}
	if ro := v.Readout(); !strings.Contains(ro, "C/D vertical") {
		t.Errorf("readout %q, want the cup-to-disc ratios", ro)
	}

	// Text: type the label, click where it goes.
	v.SetTool(ToolText)
	test.TapCanvas(c, fyne.NewPos(50, 60))
	if len(st.saved) != 3 || !strings.Contains(v.Status(), "Type the label") {
		t.Fatalf("text without a label: saved %d, status %q", len(st.saved), v.Status())
	}
	v.SetLabel("haemorrhage")
	test.TapCanvas(c, fyne.NewPos(50, 60))
	if n := len(st.saved); n != 4 || st.saved[3].Text != "haemorrhage" || st.saved[3].Kind != lane.AnnotText {
		t.Fatalf("text mark not saved: %+v", st.saved)
	}
	if strings.Contains(v.Status(), "haemorrhage") {
		t.Errorf("status %q repeats the label's text", v.Status())
	}

	// A click with a drawing tool is not a mark.
	v.SetTool(ToolArrow)
	test.Drag(c, fyne.NewPos(100, 100), 1, 1)
	if len(st.saved) != 4 {
		t.Fatalf("a 1-pixel drag saved a mark")
	}

	// A failed save keeps the mark on screen, flagged; retry saves it.
	st.failErr = errors.New("store offline")
	test.Drag(c, fyne.NewPos(150, 150), 60, 30)
	if v.Unsaved() != 1 || len(v.Annotations()) != 5 || !strings.Contains(v.Status(), "Not saved") {
		t.Fatalf("after a failed save: unsaved %d, marks %d, status %q", v.Unsaved(), len(v.Annotations()), v.Status())
	}
	st.failErr = nil
	v.RetrySaves()
	if v.Unsaved() != 0 || len(st.saved) != 5 || st.saved[4].Kind != lane.AnnotArrow {
		t.Fatalf("retry: unsaved %d, saved %d", v.Unsaved(), len(st.saved))
	}

	// Delete last saves the mark as deleted and removes it.
	v.DeleteLast()
	if len(v.Annotations()) != 4 || !st.saved[5].Deleted || st.saved[5].ID != st.saved[4].ID {
		t.Fatalf("delete last: %d marks shown, last save %+v", len(v.Annotations()), st.saved[len(st.saved)-1])
	}

	// Esc cancels a mark being drawn without resetting the view.
	v.SetTool(ToolFreehand)
	test.Type(v, "+")
	zoomed := v.View()
	v.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(100, 100)}, Dragged: fyne.Delta{DX: 20, DY: 0}})
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	v.DragEnd()
	if len(st.saved) != 6 || v.View() != zoomed {
		t.Fatalf("Esc while drawing: saved %d, view changed %v", len(st.saved), v.View() != zoomed)
	}
}

func TestViewerToolsNeedAStore(t *testing.T) {
	v, _, _ := newTestViewer(t, nil)
	v.SetTool(ToolLength)
	if v.Tool() != ToolPan || v.CanAnnotate() {
		t.Fatalf("tool %v without a store", v.Tool())
	}
}

func TestViewerLoad(t *testing.T) {
	test.NewTempApp(t)
	st := newFakeStore()
	m, _ := fundus(t, 600, 600, lane.EyeLeft, 5)
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	st.data["i1"] = buf.Bytes()
	st.anns["i1"] = []lane.Annotation{{ID: "x", ImageID: "i1", Kind: lane.AnnotCircle, Points: []lane.Point{{X: 300, Y: 300}, {X: 350, Y: 300}}},
		{ID: "y", ImageID: "i1", Kind: lane.AnnotArrow, Points: []lane.Point{{X: 1, Y: 1}, {X: 9, Y: 9}}, Deleted: true}}
	decode := func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	v := New(t.Context(), Config{Source: st, Store: st, Decoder: decode, FieldOfView: func(lane.Image) float64 { return 45 }})
	v.sync = true
	var stages []string
	v.OnChanged = func() {
		if l, _, s := v.Loading(); l {
			stages = append(stages, s)
		}
	}
	w := test.NewTempWindow(t, v)
	w.Resize(fyne.NewSize(300, 300))
	v.Load(lane.Image{ID: "i1", PatientID: "p", Eye: lane.EyeLeft})
	if v.Err() != nil || v.Pyramid() == nil {
		t.Fatalf("load: %v", v.Err())
	}
	if len(v.Annotations()) != 1 {
		t.Errorf("marks %d, want 1 (the deleted one hidden)", len(v.Annotations()))
	}
	if cal := v.Calibration(); !near(cal.DegPerPixel, 45.0/600) {
		t.Errorf("calibration %+v, want 45° over 600 px", cal)
	}
	want := []string{"Loading image…", "Decoding…", "Building zoom levels 1/2…", "Building zoom levels 2/2…", "Loading marks…"}
	if strings.Join(stages, "|") != strings.Join(want, "|") {
		t.Errorf("progress stages %q, want %q", stages, want)
	}
	if v.Frame() == nil {
		t.Error("no frame after loading")
	}

	// Failures are shown in the viewport.
	for _, tc := range []struct {
		name string
		img  lane.ImageID
		err  error
		want string
	}{
		{"missing", "nope", nil, "cannot open the image"},
		{"offline", "i1", lane.ErrUnavailable, "cannot open the image"},
		{"corrupt", "bad", nil, "cannot decode the image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.data["bad"] = []byte("not an image")
			st.dataErr = tc.err
			v.Load(lane.Image{ID: tc.img})
			if v.Err() == nil || !strings.Contains(v.Err().Error(), tc.want) || v.Pyramid() != nil {
				t.Fatalf("err %v, want %q", v.Err(), tc.want)
			}
			if !v.r.msg.Visible() || !strings.Contains(v.r.msg.Text, tc.want) {
				t.Errorf("message %q not shown", v.r.msg.Text)
			}
		})
	}
	st.dataErr = nil
}

// TestViewerRenderGoroutine drives the real render goroutine: frames
// arrive through fyne.Do (inline in the test driver).
func TestViewerRenderGoroutine(t *testing.T) {
	test.NewTempApp(t)
	v := New(t.Context(), Config{})
	m, _ := fundus(t, 320, 240, lane.EyeRight, 1)
	frames := make(chan uint64, 16)
	present := v.loop.present
	v.loop.present = func(img *image.RGBA, seq uint64) {
		present(img, seq)
		frames <- seq
	}
	// Lay out by hand (no window): 200×150 at scale 1.
	v.SetImage(lane.Image{ID: "a"}, retina.NewPyramid(m), nil)
	r := test.WidgetRenderer(v)
	r.Layout(fyne.NewSize(200, 150))
	if got := <-frames; got != v.seq {
		t.Fatalf("frame %d, want %d", got, v.seq)
	}
}

func TestRenderLoopKeepsOnlyTheLatest(t *testing.T) {
	m, _ := fundus(t, 320, 240, lane.EyeRight, 1)
	pyr := retina.NewPyramid(m)
	release := make(chan struct{})
	got := make(chan uint64, 16)
	l := newRenderLoop(func(img *image.RGBA, seq uint64) {
		got <- seq
		<-release
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	req := func(seq uint64) frameRequest {
		return frameRequest{seq: seq, pyr: pyr, view: retina.Fit(pyr.Size(), image.Pt(80, 60), 0), size: image.Pt(80, 60)}
	}
	l.request(req(1))
	if s := <-got; s != 1 {
		t.Fatalf("first frame %d", s)
	}
	// While frame 1 is being presented, ten more requests arrive: only the
	// last is rendered.
	for i := uint64(2); i <= 11; i++ {
		l.request(req(i))
	}
	release <- struct{}{}
	if s := <-got; s != 11 {
		t.Fatalf("second frame %d, want 11", s)
	}
	release <- struct{}{}
	cancel()
	<-done
	if st := l.snapshot(); st.rendered != 2 || st.requested != 11 {
		t.Fatalf("stats %+v, want 2 rendered of 11 requested", st)
	}
}

func TestRenderLoopReusesBuffersAndBase(t *testing.T) {
	m, _ := fundus(t, 320, 240, lane.EyeRight, 1)
	pyr := retina.NewPyramid(m)
	l := newRenderLoop(nil)
	r := frameRequest{seq: 1, pyr: pyr, view: retina.Fit(pyr.Size(), image.Pt(80, 60), 0), size: image.Pt(80, 60),
		anns: []lane.Annotation{{Kind: lane.AnnotCircle, Points: []lane.Point{{X: 100, Y: 100}, {X: 140, Y: 100}}}}}
	a := l.render(r)
	l.recycle(a)
	r.anns = append(r.anns, lane.Annotation{Kind: lane.AnnotArrow, Points: []lane.Point{{X: 10, Y: 10}, {X: 60, Y: 60}}})
	b := l.render(r)
	if a != b {
		t.Error("a recycled buffer of the right size was not reused")
	}
	if st := l.snapshot(); st.overlayOnly != 1 {
		t.Errorf("changing only the marks re-rendered the picture (%+v)", st)
	}
	// Same picture and marks drawn from scratch must match the overlay-only
	// frame.
	fresh := newRenderLoop(nil).render(r)
	if !bytes.Equal(fresh.Pix, b.Pix) {
		t.Error("overlay-only frame differs from a full render")
	}
}
