package viewer

import (
	"context"
	"image"
	"sync"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// frameRequest is everything one frame depends on. It is a value: the UI
// goroutine builds it and the render goroutine reads it.
type frameRequest struct {
	seq   uint64
	pyr   *retina.Pyramid
	view  retina.View
	adj   retina.Adjust
	anns  []lane.Annotation // a copy, including the mark being drawn
	cal   retina.Calibration
	size  image.Point // physical pixels
	style retina.Style
}

// baseKey identifies the adjusted picture without marks, which is reused
// when only the marks change (drawing a mark, a label being typed).
type baseKey struct {
	pyr  *retina.Pyramid
	view retina.View
	adj  retina.Adjust
	size image.Point
}

func (r frameRequest) key() baseKey {
	return baseKey{pyr: r.pyr, view: r.view, adj: r.adj, size: r.size}
}

// renderLoop renders the latest frame request on its own goroutine. Frames
// are drawn into reused buffers: the UI goroutine shows one while the loop
// draws into the other, and gives the shown one back (recycle) when it
// swaps in a new frame.
type renderLoop struct {
	// present receives each finished frame on the loop goroutine; it must
	// hand the frame to the UI goroutine (fyne.Do) and, once the frame it
	// replaces is no longer shown, give that one back with recycle.
	present func(img *image.RGBA, seq uint64)

	wake chan struct{}

	mu      sync.Mutex
	pending *frameRequest // guarded by mu: the latest request not yet rendered
	spare   []*image.RGBA // guarded by mu: buffers free for drawing
	stats   loopStats     // guarded by mu

	// Used by whoever calls render: the loop goroutine, or the UI
	// goroutine in synchronous mode (tests); never both.
	base    *image.RGBA
	baseKey baseKey
}

// loopStats counts what the loop did, for tests.
type loopStats struct {
	requested, rendered, overlayOnly int
}

func newRenderLoop(present func(*image.RGBA, uint64)) *renderLoop {
	return &renderLoop{present: present, wake: make(chan struct{}, 1)}
}

// request replaces any pending request with r and wakes the loop.
func (l *renderLoop) request(r frameRequest) {
	l.mu.Lock()
	l.pending = &r
	l.stats.requested++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// recycle gives a buffer that is no longer shown back to the loop.
func (l *renderLoop) recycle(img *image.RGBA) {
	if img == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spare) < 2 {
		l.spare = append(l.spare, img)
	}
}

// run renders requests until ctx ends. Only the latest request is
// rendered: requests that arrive while a frame is being drawn replace each
// other.
func (l *renderLoop) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			// The loop's buffers hold decoded pixels: let them go.
			l.base = nil
			l.drop()
			return
		case <-l.wake:
		}
		l.mu.Lock()
		r := l.pending
		l.pending = nil
		l.mu.Unlock()
		if r == nil || ctx.Err() != nil {
			continue
		}
		img := l.render(*r)
		if img != nil {
			l.present(img, r.seq)
		}
	}
}

// drop forgets the pending request and the spare buffers.
func (l *renderLoop) drop() {
	l.mu.Lock()
	l.pending, l.spare = nil, nil
	l.mu.Unlock()
}

// buffer returns a free buffer of the given size.
func (l *renderLoop) buffer(size image.Point) *image.RGBA {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.spare) > 0 {
		b := l.spare[len(l.spare)-1]
		l.spare = l.spare[:len(l.spare)-1]
		if b.Rect.Size() == size {
			return b
		}
	}
	return image.NewRGBA(image.Rectangle{Max: size})
}

// render draws r into a free buffer: the view sampled from the pyramid,
// the adjustments, then the marks. When only the marks changed since the
// last frame the adjusted picture is copied from the base buffer instead
// of being rendered again.
func (l *renderLoop) render(r frameRequest) *image.RGBA {
	if r.pyr == nil || r.size.X <= 0 || r.size.Y <= 0 {
		return nil
	}
	dst := l.buffer(r.size)
	k := r.key()
	overlayOnly := l.base != nil && l.baseKey == k
	if !overlayOnly {
		r.pyr.RenderInto(dst, r.view)
		r.adj.Apply(dst)
		if len(r.anns) > 0 {
			if l.base == nil || l.base.Rect.Size() != r.size {
				l.base = image.NewRGBA(image.Rectangle{Max: r.size})
			}
			copy(l.base.Pix, dst.Pix)
			l.baseKey = k
		} else {
			l.base, l.baseKey = nil, baseKey{}
		}
	} else {
		copy(dst.Pix, l.base.Pix)
	}
	if len(r.anns) > 0 {
		retina.DrawAnnotations(dst, r.view.ToViewport(r.size), r.anns, r.cal, r.style)
	}
	l.mu.Lock()
	l.stats.rendered++
	if overlayOnly {
		l.stats.overlayOnly++
	}
	l.mu.Unlock()
	return dst
}

func (l *renderLoop) snapshot() loopStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}
