package viewer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// Source reads an image's bytes. *lane.Service implements it (checking the
// user may view the chart, and auditing the view).
type Source interface {
	ImageData(ctx context.Context, img lane.Image) ([]byte, error)
}

// AnnotationStore lists and saves the marks on an image. *lane.Service
// implements it. SaveAnnotation returns the mark as stored (with its ID,
// author and time); saving a mark with Deleted set removes it.
type AnnotationStore interface {
	Annotations(ctx context.Context, img lane.Image) ([]lane.Annotation, error)
	SaveAnnotation(ctx context.Context, img lane.Image, an lane.Annotation) (lane.Annotation, error)
}

// Config is what a Viewer needs from its owner.
type Config struct {
	// Source and Decoder load images for Load; both are needed for it.
	Source  Source
	Decoder retina.Decoder
	// Store lists and saves marks. Without one the viewer shows no marks
	// and its annotation tools are off.
	Store AnnotationStore
	// FieldOfView returns the camera's horizontal field of view in degrees
	// for an image (0 when unknown). It calibrates measurements when the
	// image has no pixel spacing; nil means unknown.
	FieldOfView func(lane.Image) float64
	// ReadOnly turns the annotation tools off even with a Store (the
	// patient-facing display).
	ReadOnly bool
	// Inline loads and renders on the calling goroutine instead of in the
	// background: for tests of screens that embed the viewer, whose
	// loads run inline too. Never set it in the app.
	Inline bool
}

// Tool is what dragging on the image does.
type Tool int

// Tools. ToolPan moves the picture; the others draw a mark of the matching
// lane.AnnotationKind: arrows, circles and lengths by dragging from start to
// end (a circle from its centre to its rim), freehand lines, areas and disc
// and cup outlines by tracing, and text by clicking where the label goes.
const (
	ToolPan Tool = iota
	ToolArrow
	ToolCircle
	ToolFreehand
	ToolText
	ToolLength
	ToolArea
	ToolDisc
	ToolCup
)

// Tools lists every tool in the order the panel shows them.
var Tools = []Tool{ToolPan, ToolArrow, ToolCircle, ToolFreehand, ToolText, ToolLength, ToolArea, ToolDisc, ToolCup}

// String names the tool for people.
func (t Tool) String() string {
	switch t {
	case ToolArrow:
		return "Arrow"
	case ToolCircle:
		return "Circle"
	case ToolFreehand:
		return "Freehand"
	case ToolText:
		return "Text"
	case ToolLength:
		return "Length"
	case ToolArea:
		return "Area"
	case ToolDisc:
		return "Disc outline"
	case ToolCup:
		return "Cup outline"
	}
	return "Move"
}

// Kind returns the annotation kind the tool draws ("" for ToolPan).
func (t Tool) Kind() lane.AnnotationKind {
	switch t {
	case ToolArrow:
		return lane.AnnotArrow
	case ToolCircle:
		return lane.AnnotCircle
	case ToolFreehand:
		return lane.AnnotFreehand
	case ToolText:
		return lane.AnnotText
	case ToolLength:
		return lane.AnnotLength
	case ToolArea:
		return lane.AnnotArea
	case ToolDisc:
		return lane.AnnotDisc
	case ToolCup:
		return lane.AnnotCup
	}
	return ""
}

// traced reports whether the tool follows the pointer (a polyline) rather
// than joining a start and an end point.
func (t Tool) traced() bool {
	return t == ToolFreehand || t == ToolArea || t == ToolDisc || t == ToolCup
}

// mark is an annotation with its save state.
type mark struct {
	an lane.Annotation
	// saving is set while a save is in flight; failed when the last save
	// failed (the mark stays on screen and Retry saves it again).
	saving, failed bool
}

// Viewer shows one retinal image. Its methods must be called on the Fyne
// goroutine (from a callback or inside fyne.Do).
type Viewer struct {
	widget.BaseWidget

	ctx  context.Context
	cfg  Config
	loop *renderLoop
	// sync renders on the calling goroutine instead of the render
	// goroutine (tests).
	sync bool

	img     lane.Image
	pyr     *retina.Pyramid
	view    retina.View
	viewSet bool
	adj     retina.Adjust
	marks   []mark
	draft   *lane.Annotation
	tool    Tool
	label   string // text for ToolText
	cal     retina.Calibration
	vp      image.Point // viewport in physical pixels
	scale   float32     // canvas scale used for vp

	loadSeq  uint64
	loading  bool
	progress float64
	stage    string
	loadErr  error
	status   string

	seq      uint64      // last frame requested
	shownSeq uint64      // last frame shown
	frame    *image.RGBA // shown frame (owned by the UI goroutine)
	r        *viewerRenderer

	// OnViewChanged is called after the user zooms, pans, rotates or flips
	// (not after SetView), for linked views.
	OnViewChanged func(retina.View)
	// OnChanged is called after anything the panel shows changed: the
	// adjustments, the tool, the marks, the loading state or the status.
	OnChanged func()
	// OnFocus is called when the viewer is clicked or focused (the compare
	// view follows the viewer last used).
	OnFocus func()
}

// New returns an empty viewer. Its render goroutine runs until ctx ends;
// ctx also bounds loading and saving.
func New(ctx context.Context, cfg Config) *Viewer {
	v := &Viewer{ctx: ctx, cfg: cfg, sync: cfg.Inline}
	v.loop = newRenderLoop(func(img *image.RGBA, seq uint64) {
		fyne.Do(func() { v.present(img, seq) })
	})
	v.ExtendBaseWidget(v)
	go v.loop.run(ctx)
	return v
}

// CreateRenderer implements fyne.Widget.
func (v *Viewer) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Black)
	im := canvas.NewImageFromImage(nil)
	im.FillMode = canvas.ImageFillStretch
	im.ScaleMode = canvas.ImageScaleFastest
	bar := widget.NewProgressBar()
	stage := widget.NewLabel("")
	stage.Alignment = fyne.TextAlignCenter
	msg := widget.NewLabel("")
	msg.Alignment = fyne.TextAlignCenter
	msg.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(stage, bar)
	r := &viewerRenderer{v: v, bg: bg, img: im, bar: bar, stage: stage, box: box, msg: msg}
	v.r = r
	r.update()
	return r
}

// viewerRenderer lays out the frame, the progress indicator and messages.
type viewerRenderer struct {
	v     *Viewer
	bg    *canvas.Rectangle
	img   *canvas.Image
	bar   *widget.ProgressBar
	stage *widget.Label
	box   *fyne.Container
	msg   *widget.Label
}

func (r *viewerRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	r.img.Resize(size)
	w := fyne.Min(size.Width-32, 360)
	bs := r.box.MinSize()
	r.box.Resize(fyne.NewSize(w, bs.Height))
	r.box.Move(fyne.NewPos((size.Width-w)/2, (size.Height-bs.Height)/2))
	ms := r.msg.MinSize()
	r.msg.Resize(fyne.NewSize(size.Width-32, ms.Height))
	r.msg.Move(fyne.NewPos(16, (size.Height-ms.Height)/2))
	r.v.resized(size)
}

func (r *viewerRenderer) MinSize() fyne.Size { return fyne.NewSize(64, 64) }

func (r *viewerRenderer) Refresh() {
	r.update()
	canvas.Refresh(r.img)
}

// update copies the viewer's state into the objects.
func (r *viewerRenderer) update() {
	v := r.v
	if v.frame != nil {
		r.img.Image = v.frame
	} else {
		r.img.Image = nil
	}
	r.img.Hidden = v.frame == nil || v.pyr == nil
	r.box.Hidden = !v.loading
	r.bar.SetValue(v.progress)
	r.stage.SetText(v.stage)
	switch {
	case v.loadErr != nil:
		r.msg.SetText(v.loadErr.Error())
		r.msg.Show()
	case v.pyr == nil && !v.loading:
		r.msg.SetText("No image")
		r.msg.Show()
	default:
		r.msg.Hide()
	}
}

func (r *viewerRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.bg, r.img, r.box, r.msg}
}

func (r *viewerRenderer) Destroy() {}

// canvasScale returns the scale of the canvas showing v (1 before it is
// shown).
func (v *Viewer) canvasScale() float32 {
	if app := fyne.CurrentApp(); app != nil {
		if c := app.Driver().CanvasForObject(v); c != nil && c.Scale() > 0 {
			return c.Scale()
		}
	}
	return 1
}

// resized recomputes the physical viewport and keeps the view's relative
// position when the size changes.
func (v *Viewer) resized(size fyne.Size) {
	s := v.canvasScale()
	vp := image.Pt(int(math.Round(float64(size.Width*s))), int(math.Round(float64(size.Height*s))))
	if vp == v.vp && s == v.scale {
		return
	}
	old := v.vp
	v.vp, v.scale = vp, s
	if v.pyr != nil && vp.X > 0 && vp.Y > 0 {
		if v.viewSet && old.X > 0 && old.Y > 0 {
			v.view = v.view.Relative(v.pyr.Size(), old).View(v.pyr.Size(), vp)
		} else if !v.viewSet {
			v.view, v.viewSet = retina.Fit(v.pyr.Size(), vp, 0), true
		}
	}
	v.requestFrame()
}

// Image returns the metadata of the image shown.
func (v *Viewer) Image() lane.Image { return v.img }

// Pyramid returns the image shown, nil before one is loaded.
func (v *Viewer) Pyramid() *retina.Pyramid { return v.pyr }

// ViewportSize returns the viewport in physical pixels.
func (v *Viewer) ViewportSize() image.Point { return v.vp }

// View returns the current view.
func (v *Viewer) View() retina.View { return v.view }

// SetView shows view vw without calling OnViewChanged.
func (v *Viewer) SetView(vw retina.View) {
	v.view, v.viewSet = vw, true
	v.requestFrame()
	v.changed()
}

// setUserView applies a view the user asked for and tells OnViewChanged.
func (v *Viewer) setUserView(vw retina.View) {
	if v.pyr == nil {
		return
	}
	v.view, v.viewSet = vw.ClampCenter(v.pyr.Size()), true
	v.requestFrame()
	v.changed()
	if v.OnViewChanged != nil {
		v.OnViewChanged(v.view)
	}
}

// Adjust returns the display adjustments.
func (v *Viewer) Adjust() retina.Adjust { return v.adj }

// SetAdjust changes the display adjustments.
func (v *Viewer) SetAdjust(a retina.Adjust) {
	if a == v.adj {
		return
	}
	v.adj = a
	v.requestFrame()
	v.changed()
}

// Tool returns the current tool.
func (v *Viewer) Tool() Tool { return v.tool }

// SetTool chooses what dragging does. Annotation tools need a Store and
// an image; without them the tool stays ToolPan.
func (v *Viewer) SetTool(t Tool) {
	if !v.CanAnnotate() {
		t = ToolPan
	}
	if t == v.tool {
		return
	}
	v.tool = t
	v.draft = nil
	v.requestFrame()
	v.changed()
}

// CanAnnotate reports whether marks can be drawn and saved.
func (v *Viewer) CanAnnotate() bool { return v.cfg.Store != nil && !v.cfg.ReadOnly }

// SetLabel sets the text placed by ToolText.
func (v *Viewer) SetLabel(s string) { v.label = s }

// Label returns the text placed by ToolText.
func (v *Viewer) Label() string { return v.label }

// Calibration returns the calibration used for measurements.
func (v *Viewer) Calibration() retina.Calibration { return v.cal }

// Annotations returns the marks shown (not the one being drawn).
func (v *Viewer) Annotations() []lane.Annotation {
	out := make([]lane.Annotation, 0, len(v.marks))
	for _, m := range v.marks {
		if !m.an.Deleted {
			out = append(out, m.an)
		}
	}
	return out
}

// Status returns the last message for the user ("" when none).
func (v *Viewer) Status() string { return v.status }

// Loading reports whether an image is being loaded, with the progress
// (0–1) and what is being done.
func (v *Viewer) Loading() (bool, float64, string) { return v.loading, v.progress, v.stage }

// Err returns why the last load failed, nil if it did not.
func (v *Viewer) Err() error { return v.loadErr }

func (v *Viewer) changed() {
	if v.OnChanged != nil {
		v.OnChanged()
	}
}

func (v *Viewer) setStatus(s string) {
	v.status = s
	v.changed()
}

// SetImage displays an already-opened image with its marks, fitting it to the
// viewport.
func (v *Viewer) SetImage(img lane.Image, pyr *retina.Pyramid, anns []lane.Annotation) {
	v.loadSeq++ // a load still running must not replace this image
	v.apply(img, pyr, anns, nil)
}

func (v *Viewer) apply(img lane.Image, pyr *retina.Pyramid, anns []lane.Annotation, err error) {
	v.loading, v.progress, v.stage = false, 0, ""
	v.loadErr = err
	v.img, v.pyr = img, pyr
	v.marks = v.marks[:0]
	for _, a := range anns {
		if !a.Deleted {
			v.marks = append(v.marks, mark{an: a})
		}
	}
	v.draft = nil
	v.status = ""
	if pyr != nil {
		if img.Width == 0 || img.Height == 0 {
			v.img.Width, v.img.Height = pyr.Size().X, pyr.Size().Y
		}
		fov := 0.0
		if v.cfg.FieldOfView != nil {
			fov = v.cfg.FieldOfView(v.img)
		}
		v.cal = retina.CalibrationFor(v.img, fov)
		v.viewSet = false
		if v.vp.X > 0 && v.vp.Y > 0 {
			v.view, v.viewSet = retina.Fit(pyr.Size(), v.vp, 0), true
		}
	}
	if !v.CanAnnotate() {
		v.tool = ToolPan
	}
	v.Refresh()
	v.requestFrame()
	v.changed()
}

// Load fetches, decodes and shows img, with a progress indicator. Any
// earlier load still running is abandoned. Errors are shown in the
// viewport.
func (v *Viewer) Load(img lane.Image) {
	v.loadSeq++
	seq := v.loadSeq
	v.loading, v.progress, v.stage, v.loadErr = true, 0, "Loading image…", nil
	v.pyr, v.frame, v.marks, v.draft = nil, nil, nil, nil
	v.Refresh()
	v.changed()
	if v.cfg.Source == nil || v.cfg.Decoder == nil {
		v.apply(img, nil, nil, errors.New("cannot open images: no image source configured"))
		return
	}
	report := func(p float64, stage string) {
		if v.sync {
			v.setProgress(seq, p, stage)
			return
		}
		fyne.Do(func() { v.setProgress(seq, p, stage) })
	}
	work := func() {
		pyr, anns, err := v.open(img, report)
		finish := func() {
			if seq != v.loadSeq {
				return
			}
			v.apply(img, pyr, anns, err)
		}
		if v.sync {
			finish()
		} else {
			fyne.Do(finish)
		}
	}
	if v.sync {
		work()
		return
	}
	go work()
}

// open does a load's slow part off the UI goroutine.
func (v *Viewer) open(img lane.Image, report func(float64, string)) (*retina.Pyramid, []lane.Annotation, error) {
	ctx := v.ctx
	data, err := v.cfg.Source.ImageData(ctx, img)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the image: %w", err)
	}
	report(0.15, "Decoding…")
	m, err := v.cfg.Decoder(data)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot decode the image: %w", err)
	}
	pyr := retina.NewPyramid(m)
	n := pyr.NumLevels()
	for k := 1; k < n; k++ {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		report(0.6+0.35*float64(k-1)/float64(max(1, n-1)), fmt.Sprintf("Building zoom levels %d/%d…", k, n-1))
		pyr.Level(k)
	}
	var anns []lane.Annotation
	if v.cfg.Store != nil {
		report(0.95, "Loading marks…")
		anns, err = v.cfg.Store.Annotations(ctx, img)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot load the marks on the image: %w", err)
		}
	}
	return pyr, anns, nil
}

func (v *Viewer) setProgress(seq uint64, p float64, stage string) {
	if seq != v.loadSeq || !v.loading {
		return
	}
	v.progress, v.stage = p, stage
	v.Refresh()
	v.changed()
}

// requestFrame asks for a frame of the current state.
func (v *Viewer) requestFrame() {
	if v.pyr == nil || v.vp.X <= 0 || v.vp.Y <= 0 || !v.viewSet {
		return
	}
	v.seq++
	anns := v.Annotations()
	if v.draft != nil {
		anns = append(anns, *v.draft)
	}
	s := float64(v.scale)
	if s <= 0 {
		s = 1
	}
	r := frameRequest{
		seq: v.seq, pyr: v.pyr, view: v.view, adj: v.adj, anns: anns, cal: v.cal, size: v.vp,
		style: retina.Style{Width: 2 * s, TextScale: max(1, int(math.Round(s)))},
	}
	if v.sync {
		if img := v.loop.render(r); img != nil {
			v.present(img, r.seq)
		}
		return
	}
	v.loop.request(r)
}

// Release drops the image with its decoded pixels (the pyramid and the
// frames) and its marks, and abandons a load in flight: the lane locked
// or the viewer is closing. The viewer then shows "No image". Stopping
// the context given to New also ends the render goroutine, which drops
// its own buffers.
func (v *Viewer) Release() {
	v.loadSeq++
	v.img, v.pyr, v.frame, v.marks, v.draft = lane.Image{}, nil, nil, nil, nil
	v.loading, v.progress, v.stage, v.loadErr, v.status = false, 0, "", nil, ""
	v.viewSet = false
	v.loop.drop()
	v.Refresh()
	v.changed()
}

// present shows a finished frame (UI goroutine) and recycles the one it
// replaces.
func (v *Viewer) present(img *image.RGBA, seq uint64) {
	if v.pyr == nil || seq < v.shownSeq || img.Rect.Size() != v.vp {
		v.loop.recycle(img)
		return
	}
	old := v.frame
	v.frame, v.shownSeq = img, seq
	if v.r != nil {
		v.r.update()
		canvas.Refresh(v.r.img)
	}
	if old != img {
		v.loop.recycle(old)
	}
}

// Frame returns the frame shown, nil before the first. It is the viewer's
// buffer: copy it to keep it.
func (v *Viewer) Frame() *image.RGBA { return v.frame }
