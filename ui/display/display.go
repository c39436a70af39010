// Package display finds the monitors connected to the lane PC and opens a
// full-screen window on the patient-facing one, to show the patient their
// retinal photograph while the clinician keeps the working screen.
//
// Monitors are enumerated through GLFW (github.com/go-gl/glfw), which
// Fyne's desktop driver has already initialised. GLFW must be called on the
// main thread: in a Fyne app that is the Fyne goroutine, so List must run
// in a Fyne callback or inside fyne.Do (never from a goroutine of your
// own). Where GLFW is not available (Fyne's test driver, a build without
// the desktop driver) List returns ErrUnavailable, and callers carry on
// with a single display.
//
// Fyne has no API to place a window on a given monitor. ShowFullScreen
// opens the window, catches its GLFW window the first time Fyne paints it
// (a 1×1 raster whose generator runs while the window's OpenGL context is
// current, so glfw.GetCurrentContext returns it), and then makes it
// full screen on the chosen monitor with GLFW's SetMonitor. If that fails
// the window falls back to Fyne's own full screen on the monitor it opened
// on.
package display

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// ErrUnavailable means the monitors cannot be listed: GLFW is not running
// (no desktop driver, the test driver) or failed.
var ErrUnavailable = errors.New("display: monitors cannot be listed here")

// Display is one monitor. Positions and sizes are in screen coordinates
// (pixels on X11 and Windows).
type Display struct {
	// Index is the monitor's position in GLFW's list; 0 is the primary.
	Index int
	// Name is the monitor's name as the system reports it.
	Name string
	// X and Y are the top-left corner in the virtual desktop.
	X, Y int
	// Width, Height and RefreshRate are the current video mode.
	Width, Height, RefreshRate int
	// WidthMM and HeightMM are the physical size (0 when unknown).
	WidthMM, HeightMM int
	// Primary is set for the primary monitor.
	Primary bool
}

// String describes the display for a chooser.
func (d Display) String() string {
	name := d.Name
	if name == "" {
		name = fmt.Sprintf("Display %d", d.Index+1)
	}
	s := fmt.Sprintf("%s (%d×%d at %d,%d)", name, d.Width, d.Height, d.X, d.Y)
	if d.Primary {
		s += ", primary"
	}
	return s
}

// Bounds returns the display's rectangle in the virtual desktop.
func (d Display) Bounds() image.Rectangle { return image.Rect(d.X, d.Y, d.X+d.Width, d.Y+d.Height) }

// List returns the connected monitors, primary first. It must run on the
// Fyne goroutine (a callback or fyne.Do) of an app using the desktop
// driver; elsewhere it returns an error wrapping ErrUnavailable.
func List() (ds []Display, err error) {
	defer func() {
		// go-gl/glfw panics on GLFW errors such as NotInitialized.
		if r := recover(); r != nil {
			ds, err = nil, fmt.Errorf("%w (%v)", ErrUnavailable, r)
		}
	}()
	mons := glfw.GetMonitors()
	if len(mons) == 0 {
		return nil, fmt.Errorf("%w (no monitor reported)", ErrUnavailable)
	}
	prim := glfw.GetPrimaryMonitor()
	for i, m := range mons {
		d := Display{Index: i, Name: m.GetName(), Primary: prim != nil && *m == *prim}
		d.X, d.Y = m.GetPos()
		if vm := m.GetVideoMode(); vm != nil {
			d.Width, d.Height, d.RefreshRate = vm.Width, vm.Height, vm.RefreshRate
		}
		d.WidthMM, d.HeightMM = m.GetPhysicalSize()
		ds = append(ds, d)
	}
	return ds, nil
}

// PatientDisplay picks the display for the patient: the first one that is
// not the primary, or the primary when it is the only one (ok is false
// then, so the caller can say that no second display is connected).
func PatientDisplay(ds []Display) (d Display, ok bool) {
	for _, x := range ds {
		if !x.Primary {
			return x, true
		}
	}
	if len(ds) > 0 {
		return ds[0], false
	}
	return Display{}, false
}

// monitorFor finds d's monitor again (monitors may have been plugged or
// unplugged since List): by name and position, else by index.
func monitorFor(d Display) *glfw.Monitor {
	mons := glfw.GetMonitors()
	for _, m := range mons {
		x, y := m.GetPos()
		if m.GetName() == d.Name && x == d.X && y == d.Y {
			return m
		}
	}
	if d.Index >= 0 && d.Index < len(mons) {
		return mons[d.Index]
	}
	return nil
}

// ShowFullScreen opens a window titled title showing content full screen on
// display d, and returns it (close it to end the patient view). It must run
// on the Fyne goroutine. onPlaced, if not nil, is called on the Fyne
// goroutine once the window is placed, with nil or with why it stayed on
// the monitor it opened on.
func ShowFullScreen(a fyne.App, title string, d Display, content fyne.CanvasObject, onPlaced func(error)) fyne.Window {
	w := a.NewWindow(title)
	var once sync.Once
	place := func(gw *glfw.Window) {
		err := placeOn(gw, d)
		if err != nil {
			w.SetFullScreen(true)
		}
		if onPlaced != nil {
			onPlaced(err)
		}
	}
	probe := canvas.NewRaster(func(wd, ht int) image.Image {
		// Runs while Fyne paints this window, with its GL context current.
		once.Do(func() {
			gw := currentWindow()
			// Move after the paint, not inside it.
			fyne.Do(func() { place(gw) })
		})
		return image.NewUniform(color.Transparent)
	})
	w.SetContent(container.NewStack(content, probe))
	w.SetPadded(false)
	w.Resize(fyne.NewSize(float32(max(d.Width, 320))/2, float32(max(d.Height, 240))/2))
	w.Show()
	return w
}

func currentWindow() (gw *glfw.Window) {
	defer func() {
		if recover() != nil {
			gw = nil
		}
	}()
	return glfw.GetCurrentContext()
}

// placeOn makes gw full screen on d's monitor.
func placeOn(gw *glfw.Window, d Display) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", ErrUnavailable, r)
		}
	}()
	if gw == nil {
		return fmt.Errorf("%w (the window's GLFW handle was not found)", ErrUnavailable)
	}
	m := monitorFor(d)
	if m == nil {
		return fmt.Errorf("display: %s is no longer connected", d)
	}
	vm := m.GetVideoMode()
	if vm == nil {
		return fmt.Errorf("display: %s reports no video mode", d)
	}
	gw.SetMonitor(m, 0, 0, vm.Width, vm.Height, vm.RefreshRate)
	return nil
}
