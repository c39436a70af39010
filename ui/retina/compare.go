package retina

import (
	"fmt"
	"image"
	"time"

	"github.com/examlane/examlane/lane"
)

// Relative is a view expressed independently of resolution: the zoom as a
// multiple of "fit" and the centre as a fraction of the image size, so two
// images of different sizes can show the same part of the fundus.
type Relative struct {
	// Zoom is the scale divided by the fit scale (1 = fit).
	Zoom float64
	// U and V are the centre as fractions of the image width and height.
	U, V float64
	// Rotation, FlipH and FlipV are as in View.
	Rotation     float64
	FlipH, FlipV bool
}

// Relative returns v in resolution-independent form for an image of size
// img in a viewport of size vp.
func (v View) Relative(img, vp image.Point) Relative {
	r := Relative{Zoom: v.scale() / FitScale(img, vp, v.Rotation), Rotation: v.Rotation, FlipH: v.FlipH, FlipV: v.FlipV}
	if img.X > 0 && img.Y > 0 {
		r.U, r.V = v.Center.X/float64(img.X), v.Center.Y/float64(img.Y)
	}
	return r
}

// View returns the view r describes for an image of size img in a viewport
// of size vp.
func (r Relative) View(img, vp image.Point) View {
	return View{
		Scale:    r.Zoom * FitScale(img, vp, r.Rotation),
		Center:   lane.Point{X: r.U * float64(img.X), Y: r.V * float64(img.Y)},
		Rotation: r.Rotation, FlipH: r.FlipH, FlipV: r.FlipV,
	}
}

// Linked keeps the views of 2 to 4 images in step: changing one view
// (zoom, pan, and orientation unless IndependentOrientation) moves the
// others to the same relative position. It is a value holder for the UI
// goroutine and is not safe for concurrent use.
type Linked struct {
	images, viewports []image.Point
	views             []View
	// IndependentOrientation lets each image keep its own rotation and
	// flips (e.g. to mirror a left eye against a right one).
	IndependentOrientation bool
}

// NewLinked returns linked views for images of the given sizes shown in
// viewports of the given sizes, all starting at fit. It returns an error
// wrapping lane.ErrInvalid unless there are 2 to 4 images with as many
// viewports.
func NewLinked(images, viewports []image.Point) (*Linked, error) {
	if len(images) < 2 || len(images) > 4 || len(viewports) != len(images) {
		return nil, lane.Invalidf("retina: linked views need 2 to 4 images, one viewport each (got %d images, %d viewports)", len(images), len(viewports))
	}
	l := &Linked{images: append([]image.Point(nil), images...), viewports: append([]image.Point(nil), viewports...)}
	for i := range images {
		l.views = append(l.views, Fit(images[i], viewports[i], 0))
	}
	return l, nil
}

// Len returns the number of linked images.
func (l *Linked) Len() int { return len(l.views) }

// View returns image i's current view.
func (l *Linked) View(i int) View { return l.views[i] }

// Set changes image i's view and moves every other view to match.
func (l *Linked) Set(i int, v View) {
	l.views[i] = v
	r := v.Relative(l.images[i], l.viewports[i])
	for j := range l.views {
		if j == i {
			continue
		}
		rj := r
		if l.IndependentOrientation {
			old := l.views[j]
			rj.Rotation, rj.FlipH, rj.FlipV = old.Rotation, old.FlipH, old.FlipV
			// Keep the zoom relative to fit at the old orientation.
			rj.Zoom = r.Zoom * FitScale(l.images[j], l.viewports[j], r.Rotation) / FitScale(l.images[j], l.viewports[j], old.Rotation)
		}
		l.views[j] = rj.View(l.images[j], l.viewports[j])
	}
}

// Resize records a new viewport size for image i, keeping its relative
// view.
func (l *Linked) Resize(i int, vp image.Point) {
	r := l.views[i].Relative(l.images[i], l.viewports[i])
	l.viewports[i] = vp
	l.views[i] = r.View(l.images[i], vp)
}

// Flicker alternates between images for flicker comparison of two visits:
// each image is shown for Interval in turn. It is pure: the caller's timer
// asks which image to show at an elapsed time.
type Flicker struct {
	// Interval is how long each image stays up; ≤0 means 500 ms.
	Interval time.Duration
	// Count is the number of images alternated, at least 2.
	Count int
}

// At returns the index of the image to show at elapsed time t since the
// flicker started (negative t is treated as 0).
func (f Flicker) At(t time.Duration) int {
	iv := f.Interval
	if iv <= 0 {
		iv = 500 * time.Millisecond
	}
	n := max(f.Count, 2)
	if t < 0 {
		t = 0
	}
	return int((t / iv) % time.Duration(n))
}

// Next returns how long after t the shown image changes.
func (f Flicker) Next(t time.Duration) time.Duration {
	iv := f.Interval
	if iv <= 0 {
		iv = 500 * time.Millisecond
	}
	if t < 0 {
		return -t + iv
	}
	return iv - t%iv
}

// String describes the flicker for logs.
func (f Flicker) String() string {
	return fmt.Sprintf("flicker %d images every %v", max(f.Count, 2), f.Interval)
}
