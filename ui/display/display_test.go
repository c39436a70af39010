package display

import (
	"errors"
	"image"
	"testing"
)

// TestListWithoutGLFW checks the single-display fallback: where GLFW was
// never initialised (here: no Fyne desktop driver), List reports
// ErrUnavailable instead of crashing.
func TestListWithoutGLFW(t *testing.T) {
	ds, err := List()
	if !errors.Is(err, ErrUnavailable) || ds != nil {
		t.Fatalf("List() = %v, %v; want ErrUnavailable", ds, err)
	}
}

func TestPatientDisplay(t *testing.T) {
	prim := Display{Index: 0, Name: "DP-1", Width: 1920, Height: 1080, Primary: true}
	second := Display{Index: 1, Name: "HDMI-1", X: 1920, Width: 1280, Height: 1024}
	for _, tc := range []struct {
		name string
		ds   []Display
		want Display
		ok   bool
	}{
		{"two displays", []Display{prim, second}, second, true},
		{"second listed first", []Display{second, prim}, second, true},
		{"one display", []Display{prim}, prim, false},
		{"none", nil, Display{}, false},
	} {
		got, ok := PatientDisplay(tc.ds)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if s := second.String(); s != "HDMI-1 (1280×1024 at 1920,0)" {
		t.Errorf("String() = %q", s)
	}
	if s := (Display{Index: 2, Width: 800, Height: 600, Primary: true}).String(); s != "Display 3 (800×600 at 0,0), primary" {
		t.Errorf("String() = %q", s)
	}
	if b := second.Bounds(); b != image.Rect(1920, 0, 3200, 1024) {
		t.Errorf("Bounds() = %v", b)
	}
}
