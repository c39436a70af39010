package viewer

import (
	"context"
	"fmt"
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// Flicker interval limits (the slider's range) and default.
const (
	MinFlickerInterval     = 100 * time.Millisecond
	MaxFlickerInterval     = 2 * time.Second
	DefaultFlickerInterval = 500 * time.Millisecond
)

// Compare shows two or four images side by side with linked zoom and pan,
// or flickers between the first two (two visits of the same eye). One
// panel follows the viewer last clicked. Its methods must be called on the
// Fyne goroutine.
type Compare struct {
	widget.BaseWidget

	ctx     context.Context
	viewers []*Viewer
	panel   *Panel
	// Link keeps the views in step (on by default).
	link       *widget.Check
	mode       *widget.RadioGroup
	rate       *widget.Slider
	rateLabel  *widget.Label
	message    *widget.Label
	grid       *fyne.Container
	stack      *fyne.Container
	body       *fyne.Container
	content    fyne.CanvasObject
	linked     *retina.Linked
	linking    bool // set while views are being moved to follow another
	flickering bool
	flicker    retina.Flicker
	shown      int                // the image the flicker shows
	stopTicker context.CancelFunc // stops the flicker timer
	// noTicker leaves the flicker to FlickerAt calls (tests).
	noTicker bool
}

// Compare modes as shown on the mode switch.
const (
	modeSideBySide = "Side by side"
	modeFlicker    = "Flicker"
)

// NewCompare returns a compare view of n images (2 or 4), each in its own
// Viewer built with cfg. Goroutines stop when ctx ends.
func NewCompare(ctx context.Context, cfg Config, n int) (*Compare, error) {
	if n != 2 && n != 4 {
		return nil, lane.Invalidf("viewer: compare shows 2 or 4 images, not %d", n)
	}
	c := &Compare{ctx: ctx, flicker: retina.Flicker{Interval: DefaultFlickerInterval, Count: 2}}
	cols := 2
	objs := make([]fyne.CanvasObject, n)
	for i := range n {
		v := New(ctx, cfg)
		v.OnViewChanged = func(vw retina.View) { c.viewChanged(i, vw) }
		v.OnFocus = func() { c.focus(i) }
		c.viewers = append(c.viewers, v)
		objs[i] = v
	}
	c.grid = container.NewGridWithColumns(cols, objs...)
	c.stack = container.NewStack()
	c.panel = NewPanel(c.viewers[0])
	c.link = widget.NewCheck("Link zoom and pan", func(on bool) {
		if on {
			c.relink()
		}
	})
	c.link.SetChecked(true)
	c.rate = widget.NewSlider(float64(MinFlickerInterval/time.Millisecond), float64(MaxFlickerInterval/time.Millisecond))
	c.rate.Step = 50
	c.rate.SetValue(float64(DefaultFlickerInterval / time.Millisecond))
	c.rateLabel = widget.NewLabel("")
	c.rate.OnChanged = func(ms float64) { c.SetFlickerInterval(time.Duration(ms) * time.Millisecond) }
	c.message = widget.NewLabel("")
	c.message.Importance = widget.WarningImportance
	c.message.Hide()
	c.mode = widget.NewRadioGroup([]string{modeSideBySide, modeFlicker}, func(s string) {
		if err := c.SetFlicker(s == modeFlicker); err != nil {
			c.mode.SetSelected(modeSideBySide)
		}
	})
	c.mode.Horizontal = true
	c.mode.Required = true
	c.mode.SetSelected(modeSideBySide)
	c.updateRateLabel()
	bar := container.NewHBox(c.mode, c.link, widget.NewLabel("Flicker every"), container.NewGridWrap(fyne.NewSize(160, c.rate.MinSize().Height), c.rate), c.rateLabel)
	c.body = container.NewStack(c.grid)
	help := widget.NewLabel(KeyHelp)
	help.Wrapping = fyne.TextWrapWord
	help.Importance = widget.LowImportance
	c.content = container.NewBorder(container.NewVBox(bar, c.message), help, nil, c.panel, c.body)
	c.ExtendBaseWidget(c)
	return c, nil
}

// Release stops the flicker and releases every viewer's image and
// decoded pixels (see Viewer.Release).
func (c *Compare) Release() {
	c.stopFlicker()
	for _, v := range c.viewers {
		v.Release()
	}
}

// CreateRenderer implements fyne.Widget.
func (c *Compare) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(c.content) }

// Viewer returns the i-th viewer.
func (c *Compare) Viewer(i int) *Viewer { return c.viewers[i] }

// Len returns the number of viewers.
func (c *Compare) Len() int { return len(c.viewers) }

// Panel returns the side panel.
func (c *Compare) Panel() *Panel { return c.panel }

// Load loads images into the viewers in order (at most Len).
func (c *Compare) Load(imgs ...lane.Image) {
	c.linked = nil
	for i, img := range imgs {
		if i < len(c.viewers) {
			c.viewers[i].Load(img)
		}
	}
}

// SetImages shows opened images in the viewers in order.
func (c *Compare) SetImages(imgs []lane.Image, pyrs []*retina.Pyramid, anns [][]lane.Annotation) {
	c.linked = nil
	for i := range imgs {
		if i >= len(c.viewers) || i >= len(pyrs) {
			break
		}
		var a []lane.Annotation
		if i < len(anns) {
			a = anns[i]
		}
		c.viewers[i].SetImage(imgs[i], pyrs[i], a)
	}
}

// focus makes the panel follow viewer i.
func (c *Compare) focus(i int) {
	if c.panel.Viewer() != c.viewers[i] {
		c.panel.SetViewer(c.viewers[i])
	}
}

// Linked reports whether views are kept in step.
func (c *Compare) Linked() bool { return c.link.Checked }

// SetLinked turns linked zoom and pan on or off.
func (c *Compare) SetLinked(on bool) { c.link.SetChecked(on) }

// ready returns the viewers that show an image with a viewport; linking
// needs at least two.
func (c *Compare) ready() []int {
	var out []int
	for i, v := range c.viewers {
		if v.Pyramid() != nil && v.ViewportSize().X > 0 && v.ViewportSize().Y > 0 {
			out = append(out, i)
		}
	}
	return out
}

// ensureLinked (re)builds the linked views when the images changed.
func (c *Compare) ensureLinked() bool {
	idx := c.ready()
	if len(idx) < 2 || len(idx) != len(c.viewers) {
		// Link only when every viewer shows an image: a partly loaded
		// compare keeps independent views.
		return false
	}
	if c.linked == nil {
		imgs := make([]image.Point, len(c.viewers))
		vps := make([]image.Point, len(c.viewers))
		for i, v := range c.viewers {
			imgs[i], vps[i] = v.Pyramid().Size(), v.ViewportSize()
		}
		l, err := retina.NewLinked(imgs, vps)
		if err != nil {
			return false
		}
		c.linked = l
	}
	for i, v := range c.viewers {
		c.linked.Resize(i, v.ViewportSize())
	}
	return true
}

// viewChanged moves the other views to follow viewer i.
func (c *Compare) viewChanged(i int, vw retina.View) {
	if c.linking || !c.link.Checked || !c.ensureLinked() {
		return
	}
	c.linking = true
	defer func() { c.linking = false }()
	c.linked.Set(i, vw)
	for j, v := range c.viewers {
		if j != i {
			v.SetView(c.linked.View(j))
		}
	}
}

// relink aligns every view on the focused one.
func (c *Compare) relink() {
	for i, v := range c.viewers {
		if v == c.panel.Viewer() && v.Pyramid() != nil {
			c.viewChanged(i, v.View())
			return
		}
	}
}

// SetFlicker switches between side by side and flicker. Flicker needs the
// first two viewers to show images of the same eye; otherwise it returns an
// error wrapping lane.ErrInvalid and says why on screen.
func (c *Compare) SetFlicker(on bool) error {
	if on == c.flickering {
		return nil
	}
	if on {
		a, b := c.viewers[0], c.viewers[1]
		switch {
		case a.Pyramid() == nil || b.Pyramid() == nil:
			return c.refuse("Flicker needs two images")
		case a.Image().Eye != b.Image().Eye || a.Image().Eye == lane.EyeUnknown:
			return c.refuse("Flicker compares two images of the same eye")
		}
		c.message.Hide()
		c.flickering = true
		c.stack.Objects = []fyne.CanvasObject{a, b}
		c.body.Objects = []fyne.CanvasObject{c.stack}
		c.grid.Objects = nil
		c.link.SetChecked(true)
		c.showFlicker(0)
		c.body.Refresh()
		c.relink()
		c.startTicker()
		if c.mode.Selected != modeFlicker {
			c.mode.SetSelected(modeFlicker)
		}
		return nil
	}
	c.stopFlicker()
	c.flickering = false
	objs := make([]fyne.CanvasObject, len(c.viewers))
	for i, v := range c.viewers {
		v.Show()
		objs[i] = v
	}
	c.grid.Objects = objs
	c.body.Objects = []fyne.CanvasObject{c.grid}
	c.body.Refresh()
	if c.mode.Selected != modeSideBySide {
		c.mode.SetSelected(modeSideBySide)
	}
	return nil
}

func (c *Compare) refuse(msg string) error {
	c.message.SetText(msg)
	c.message.Show()
	return lane.Invalidf("viewer: %s", msg)
}

// Flickering reports whether the flicker mode is on, and which of the two
// images it shows.
func (c *Compare) Flickering() (bool, int) { return c.flickering, c.shown }

// FlickerInterval returns how long each image stays up while flickering.
func (c *Compare) FlickerInterval() time.Duration { return c.flicker.Interval }

// SetFlickerInterval changes the flicker rate (clamped to the slider's
// range).
func (c *Compare) SetFlickerInterval(d time.Duration) {
	d = max(MinFlickerInterval, min(MaxFlickerInterval, d))
	if d == c.flicker.Interval {
		return
	}
	c.flicker.Interval = d
	if ms := float64(d / time.Millisecond); c.rate.Value != ms {
		c.rate.SetValue(ms)
	}
	c.updateRateLabel()
	if c.flickering {
		c.startTicker()
	}
}

func (c *Compare) updateRateLabel() {
	c.rateLabel.SetText(fmt.Sprintf("%d ms", c.flicker.Interval/time.Millisecond))
}

// FlickerAt shows the image the flicker shows at elapsed time t since it
// started; the flicker's timer calls it.
func (c *Compare) FlickerAt(t time.Duration) {
	if c.flickering {
		c.showFlicker(c.flicker.At(t))
	}
}

func (c *Compare) showFlicker(i int) {
	c.shown = i
	for j, v := range c.viewers[:2] {
		if j == i {
			v.Show()
		} else {
			v.Hide()
		}
	}
}

// startTicker (re)starts the flicker timer: a goroutine owned by the
// compare view that wakes when the shown image changes.
func (c *Compare) startTicker() {
	c.stopFlicker()
	if c.noTicker {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.stopTicker = cancel
	f := c.flicker
	go func() {
		start := time.Now()
		for {
			t := time.Since(start)
			timer := time.NewTimer(f.Next(t))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			el := time.Since(start)
			fyne.Do(func() {
				if ctx.Err() == nil {
					c.FlickerAt(el)
				}
			})
		}
	}()
}

func (c *Compare) stopFlicker() {
	if c.stopTicker != nil {
		c.stopTicker()
		c.stopTicker = nil
	}
}
