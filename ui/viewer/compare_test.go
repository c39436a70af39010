package viewer

import (
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// newTestCompare shows n synthetic images (the first two of the right
// eye, different sizes) in a compare view rendering synchronously.
func newTestCompare(t *testing.T, n int, eyes ...lane.Eye) (*Compare, fyne.Window) {
	t.Helper()
	test.NewTempApp(t)
	c, err := NewCompare(t.Context(), Config{}, n)
	if err != nil {
		t.Fatal(err)
	}
	c.noTicker = true
	for _, v := range c.viewers {
		v.sync = true
	}
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(1000, 600))
	var imgs []lane.Image
	var pyrs []*retina.Pyramid
	sizes := []image.Point{{640, 480}, {800, 600}, {640, 480}, {640, 480}}
	for i := range n {
		eye := lane.EyeRight
		if i < len(eyes) {
			eye = eyes[i]
		}
		m, _ := fundus(t, sizes[i].X, sizes[i].Y, eye, uint64(i+1))
		imgs = append(imgs, lane.Image{ID: lane.ImageID(rune('a' + i)), Eye: eye})
		pyrs = append(pyrs, retina.NewPyramid(m))
	}
	c.SetImages(imgs, pyrs, nil)
	return c, w
}

func TestNewCompareSizes(t *testing.T) {
	test.NewTempApp(t)
	for _, n := range []int{0, 1, 3, 5} {
		if _, err := NewCompare(t.Context(), Config{}, n); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("NewCompare(%d): %v, want ErrInvalid", n, err)
		}
	}
}

func TestCompareLinkedZoomPan(t *testing.T) {
	for _, n := range []int{2, 4} {
		c, w := newTestCompare(t, n)
		v0 := c.Viewer(0)
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(v0)
		mid := pos.Add(fyne.NewPos(v0.Size().Width/2, v0.Size().Height/2))
		test.Scroll(w.Canvas(), mid, 0, 2*wheelNotch)
		test.Drag(w.Canvas(), mid, 30, 10)
		r0 := v0.View().Relative(v0.Pyramid().Size(), v0.ViewportSize())
		if !(r0.Zoom > 1.5) {
			t.Fatalf("n=%d: viewer 0 zoom %v after two notches", n, r0.Zoom)
		}
		for i := 1; i < n; i++ {
			v := c.Viewer(i)
			ri := v.View().Relative(v.Pyramid().Size(), v.ViewportSize())
			if math.Abs(ri.Zoom-r0.Zoom) > 1e-9 || math.Abs(ri.U-r0.U) > 1e-9 || math.Abs(ri.V-r0.V) > 1e-9 {
				t.Errorf("n=%d: viewer %d at %+v, viewer 0 at %+v", n, i, ri, r0)
			}
		}
		// Unlinked views move alone.
		c.SetLinked(false)
		before := c.Viewer(1).View()
		test.Type(v0, "0")
		if c.Viewer(1).View() != before {
			t.Errorf("n=%d: unlinked viewer 1 moved", n)
		}
		// Linking again aligns on the viewer the panel follows.
		c.SetLinked(true)
		v1 := c.Viewer(1)
		if r := v1.View().Relative(v1.Pyramid().Size(), v1.ViewportSize()); math.Abs(r.Zoom-1) > 1e-9 {
			t.Errorf("n=%d: relinked zoom %v, want fit", n, r.Zoom)
		}
	}
}

func TestComparePanelFollowsFocus(t *testing.T) {
	c, w := newTestCompare(t, 2)
	v1 := c.Viewer(1)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(v1)
	test.TapCanvas(w.Canvas(), pos.Add(fyne.NewPos(20, 20)))
	if c.Panel().Viewer() != v1 {
		t.Fatal("panel does not follow the clicked viewer")
	}
	test.Type(v1, "i")
	if !c.Panel().invert.Checked {
		t.Error("panel does not show viewer 1's adjustments")
	}
}

func TestCompareFlicker(t *testing.T) {
	c, _ := newTestCompare(t, 2, lane.EyeRight, lane.EyeLeft)
	if err := c.SetFlicker(true); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("flicker of two eyes: %v", err)
	}
	if !c.message.Visible() || c.mode.Selected != modeSideBySide {
		t.Error("refusal not shown")
	}

	c, _ = newTestCompare(t, 2)
	if err := c.SetFlicker(true); err != nil {
		t.Fatal(err)
	}
	on, shown := c.Flickering()
	if !on || shown != 0 || !c.Viewer(0).Visible() || c.Viewer(1).Visible() {
		t.Fatalf("flicker start: on %v shown %d", on, shown)
	}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{499 * time.Millisecond, 0}, {500 * time.Millisecond, 1}, {1200 * time.Millisecond, 0}} {
		c.FlickerAt(tc.at)
		if _, s := c.Flickering(); s != tc.want || c.Viewer(tc.want).Hidden || !c.Viewer(1-tc.want).Hidden {
			t.Errorf("at %v shows %d, want %d", tc.at, s, tc.want)
		}
	}
	c.SetFlickerInterval(200 * time.Millisecond)
	c.FlickerAt(300 * time.Millisecond)
	if _, s := c.Flickering(); s != 1 {
		t.Errorf("at 300 ms with 200 ms interval shows %d, want 1", s)
	}
	c.SetFlickerInterval(time.Millisecond)
	if c.FlickerInterval() != MinFlickerInterval || c.rate.Value != float64(MinFlickerInterval/time.Millisecond) {
		t.Errorf("interval %v not clamped", c.FlickerInterval())
	}
	// The flickered images stay linked: zooming the shown one moves the other.
	c.FlickerAt(0)
	test.Type(c.Viewer(0), "++")
	a, b := c.Viewer(0), c.Viewer(1)
	ra := a.View().Relative(a.Pyramid().Size(), a.ViewportSize())
	rb := b.View().Relative(b.Pyramid().Size(), b.ViewportSize())
	if math.Abs(ra.Zoom-rb.Zoom) > 1e-9 {
		t.Errorf("flicker views not linked: %v vs %v", ra.Zoom, rb.Zoom)
	}
	if err := c.SetFlicker(false); err != nil {
		t.Fatal(err)
	}
	if !a.Visible() || !b.Visible() || len(c.grid.Objects) != 2 {
		t.Error("side by side not restored")
	}
}
