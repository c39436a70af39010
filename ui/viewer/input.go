package viewer

import (
	"math"

	"fyne.io/fyne/v2"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// Interaction constants.
const (
	// wheelNotch is the scroll delta of one mouse-wheel notch in Fyne's
	// desktop driver; a notch zooms by wheelZoom.
	wheelNotch = 25
	wheelZoom  = 1.25
	// keyZoom is the zoom step of + and −.
	keyZoom = 1.25
	// keyPan is the fraction of the viewport an arrow key pans.
	keyPan = 0.1
	// traceStep is the distance in physical pixels the pointer must move
	// before a traced outline gets another point.
	traceStep = 3
	// Adjustment steps of B, C and G (Shift reverses).
	brightnessStep = 0.05
	contrastStep   = 0.05
	gammaStep      = 1.1
)

var (
	_ fyne.Scrollable = (*Viewer)(nil)
	_ fyne.Draggable  = (*Viewer)(nil)
	_ fyne.Tappable   = (*Viewer)(nil)
	_ fyne.Focusable  = (*Viewer)(nil)
)

// phys converts a position in the widget (Fyne units) to physical pixels.
func (v *Viewer) phys(p fyne.Position) lane.Point {
	s := float64(v.scale)
	if s <= 0 {
		s = 1
	}
	return lane.Point{X: float64(p.X) * s, Y: float64(p.Y) * s}
}

// Scrolled zooms around the pointer: away from you zooms in.
func (v *Viewer) Scrolled(e *fyne.ScrollEvent) {
	if v.pyr == nil || e.Scrolled.DY == 0 {
		return
	}
	f := math.Pow(wheelZoom, float64(e.Scrolled.DY)/wheelNotch)
	v.setUserView(v.view.ZoomAt(f, v.phys(e.Position), v.pyr.Size(), v.vp))
}

// ZoomBy zooms by factor around the viewport centre.
func (v *Viewer) ZoomBy(factor float64) {
	if v.pyr == nil {
		return
	}
	c := lane.Point{X: float64(v.vp.X) / 2, Y: float64(v.vp.Y) / 2}
	v.setUserView(v.view.ZoomAt(factor, c, v.pyr.Size(), v.vp))
}

// Fit shows the whole image, keeping the orientation.
func (v *Viewer) Fit() {
	if v.pyr == nil {
		return
	}
	f := retina.Fit(v.pyr.Size(), v.vp, v.view.Rotation)
	f.FlipH, f.FlipV = v.view.FlipH, v.view.FlipV
	v.setUserView(f)
}

// ActualSize shows the image at 1:1 (one image pixel per screen pixel).
func (v *Viewer) ActualSize() {
	if v.pyr == nil {
		return
	}
	v.setUserView(v.view.WithScale(1, v.pyr.Size(), v.vp))
}

// Rotate turns the picture by deg degrees clockwise.
func (v *Viewer) Rotate(deg float64) {
	if v.pyr == nil {
		return
	}
	v.setUserView(v.view.Rotate(deg))
}

// Flip mirrors the picture left–right (horizontal) or top–bottom.
func (v *Viewer) Flip(horizontal bool) {
	if v.pyr == nil {
		return
	}
	vw := v.view
	if horizontal {
		vw.FlipH = !vw.FlipH
	} else {
		vw.FlipV = !vw.FlipV
	}
	v.setUserView(vw)
}

// Reset fits the image upright and clears the adjustments.
func (v *Viewer) Reset() {
	if v.pyr == nil {
		return
	}
	v.SetAdjust(retina.Adjust{})
	v.setUserView(retina.Fit(v.pyr.Size(), v.vp, 0))
}

// Dragged pans, or draws with an annotation tool.
func (v *Viewer) Dragged(e *fyne.DragEvent) {
	if v.pyr == nil {
		return
	}
	s := float64(v.scale)
	if s <= 0 {
		s = 1
	}
	dx, dy := float64(e.Dragged.DX)*s, float64(e.Dragged.DY)*s
	if v.tool == ToolPan || v.tool == ToolText {
		v.setUserView(v.view.PanBy(dx, dy, v.vp))
		return
	}
	q := v.phys(e.Position)
	p := v.view.ImagePoint(q, v.vp)
	if v.draft == nil {
		start := v.view.ImagePoint(lane.Point{X: q.X - dx, Y: q.Y - dy}, v.vp)
		v.draft = &lane.Annotation{ImageID: v.img.ID, Kind: v.tool.Kind(), Points: []lane.Point{start, p}}
	} else if v.tool.traced() {
		last := v.view.ViewportPoint(v.draft.Points[len(v.draft.Points)-1], v.vp)
		if math.Hypot(q.X-last.X, q.Y-last.Y) >= traceStep {
			v.draft.Points = append(v.draft.Points, p)
		}
	} else {
		v.draft.Points[len(v.draft.Points)-1] = p
	}
	v.requestFrame()
	v.changed()
}

// DragEnd finishes a pan or saves the mark drawn.
func (v *Viewer) DragEnd() {
	if v.draft == nil {
		return
	}
	d := *v.draft
	v.draft = nil
	if !v.usable(d) {
		v.requestFrame()
		v.setStatus("Mark too small: drag further to draw it")
		return
	}
	v.addMark(d)
}

// usable reports whether a drawn mark has enough extent to keep.
func (v *Viewer) usable(a lane.Annotation) bool {
	pts := a.Points
	if len(pts) < 2 {
		return false
	}
	// Measure on screen: a mark smaller than a few pixels was a click.
	m := v.view.ToViewport(v.vp)
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		q := m.Apply(p)
		x0, y0, x1, y1 = math.Min(x0, q.X), math.Min(y0, q.Y), math.Max(x1, q.X), math.Max(y1, q.Y)
	}
	if math.Max(x1-x0, y1-y0) < 4 {
		return false
	}
	switch a.Kind {
	case lane.AnnotArea, lane.AnnotDisc, lane.AnnotCup:
		return len(pts) >= 3 && retina.PolygonArea(pts) > 0
	}
	return true
}

// Tapped focuses the viewer, or places a text label with ToolText.
func (v *Viewer) Tapped(e *fyne.PointEvent) {
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		c.Focus(v)
	}
	if v.OnFocus != nil {
		v.OnFocus()
	}
	if v.tool != ToolText || v.pyr == nil {
		return
	}
	if v.label == "" {
		v.setStatus("Type the label's text in the panel, then click where it goes")
		return
	}
	p := v.view.ImagePoint(v.phys(e.Position), v.vp)
	v.addMark(lane.Annotation{ImageID: v.img.ID, Kind: lane.AnnotText, Points: []lane.Point{p}, Text: v.label})
}

// FocusGained implements fyne.Focusable.
func (v *Viewer) FocusGained() {
	if v.OnFocus != nil {
		v.OnFocus()
	}
}

// FocusLost implements fyne.Focusable.
func (v *Viewer) FocusLost() {}

// TypedRune handles the one-key commands (see the package documentation).
func (v *Viewer) TypedRune(r rune) {
	a := v.adj
	switch r {
	case '+', '=':
		v.ZoomBy(keyZoom)
	case '-', '_':
		v.ZoomBy(1 / keyZoom)
	case '0':
		v.Fit()
	case 'a', 'A':
		v.ActualSize()
	case 'r':
		v.Rotate(90)
	case 'R':
		v.Rotate(-90)
	case 'h', 'H':
		v.Flip(true)
	case 'v', 'V':
		v.Flip(false)
	case 'b':
		a.Brightness = math.Min(1, a.Brightness+brightnessStep)
	case 'B':
		a.Brightness = math.Max(-1, a.Brightness-brightnessStep)
	case 'c':
		a.Contrast = math.Min(0.9, a.Contrast+contrastStep)
	case 'C':
		a.Contrast = math.Max(-0.9, a.Contrast-contrastStep)
	case 'g':
		a.Gamma = math.Min(3, gammaOf(a)*gammaStep)
	case 'G':
		a.Gamma = math.Max(1/3.0, gammaOf(a)/gammaStep)
	case 'f', 'F':
		a.Channel = toggle(a.Channel, retina.RedFree)
		a.Tint = a.Channel == retina.RedFree
	case '1':
		a.Channel = toggle(a.Channel, retina.RedOnly)
	case '2':
		a.Channel = toggle(a.Channel, retina.GreenOnly)
	case '3':
		a.Channel = toggle(a.Channel, retina.BlueOnly)
	case 'e', 'E':
		a.CLAHE = !a.CLAHE
	case 'i', 'I':
		a.Invert = !a.Invert
	}
	if a.Channel != retina.RedFree {
		a.Tint = false
	}
	a.Brightness, a.Contrast = round2(a.Brightness), round2(a.Contrast)
	if a.Gamma != 0 {
		a.Gamma = round2(a.Gamma)
		if a.Gamma == 1 {
			a.Gamma = 0
		}
	}
	v.SetAdjust(a)
}

func gammaOf(a retina.Adjust) float64 {
	if a.Gamma > 0 {
		return a.Gamma
	}
	return 1
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func toggle(cur, want retina.Channel) retina.Channel {
	if cur == want {
		return retina.AllChannels
	}
	return want
}

// TypedKey handles Esc and the arrow keys.
func (v *Viewer) TypedKey(e *fyne.KeyEvent) {
	step := keyPan * float64(min(v.vp.X, v.vp.Y))
	switch e.Name {
	case fyne.KeyEscape:
		if v.draft != nil {
			v.draft = nil
			v.requestFrame()
			v.changed()
			return
		}
		v.Reset()
	case fyne.KeyLeft:
		v.pan(step, 0)
	case fyne.KeyRight:
		v.pan(-step, 0)
	case fyne.KeyUp:
		v.pan(0, step)
	case fyne.KeyDown:
		v.pan(0, -step)
	}
}

// pan moves the picture by (dx, dy) physical pixels; the arrow keys move
// the view over the picture, so the picture moves the other way.
func (v *Viewer) pan(dx, dy float64) {
	if v.pyr == nil {
		return
	}
	v.setUserView(v.view.PanBy(dx, dy, v.vp))
}
