package ui_test

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/examlane/examlane/ui"
)

func TestNewThemeVariant(t *testing.T) {
	tests := []struct {
		name string
		in   fyne.ThemeVariant
		want fyne.ThemeVariant
	}{
		{"dark", theme.VariantDark, theme.VariantDark},
		{"light", theme.VariantLight, theme.VariantLight},
		{"unknown is dark", fyne.ThemeVariant(42), theme.VariantDark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ui.NewTheme(tt.in).Variant(); got != tt.want {
				t.Errorf("NewTheme(%v).Variant() = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestThemeKeepsItsVariant checks that the theme ignores the variant Fyne
// asks for, so the lane does not follow the desktop's preference.
func TestThemeKeepsItsVariant(t *testing.T) {
	dark := ui.NewTheme(theme.VariantDark)
	light := ui.NewTheme(theme.VariantLight)
	for _, asked := range []fyne.ThemeVariant{theme.VariantDark, theme.VariantLight} {
		if got, want := dark.Color(theme.ColorNameBackground, asked), dark.Color(theme.ColorNameBackground, theme.VariantDark); got != want {
			t.Errorf("dark.Color(background, %v) = %v, want %v", asked, got, want)
		}
	}
	if dark.Color(theme.ColorNameBackground, theme.VariantDark) == light.Color(theme.ColorNameBackground, theme.VariantDark) {
		t.Error("dark and light variants have the same background")
	}
}

func TestThemeDefinesEveryColor(t *testing.T) {
	test.AssertAllColorNamesDefined(t, ui.NewTheme(theme.VariantDark), "dark")
	test.AssertAllColorNamesDefined(t, ui.NewTheme(theme.VariantLight), "light")
}

// TestThemeContrast checks the palettes against the WCAG contrast ratios:
// 7:1 for body text, 4.5:1 for secondary text and text on colored buttons.
func TestThemeContrast(t *testing.T) {
	pairs := []struct {
		fg, bg fyne.ThemeColorName
		min    float64
	}{
		{theme.ColorNameForeground, theme.ColorNameBackground, 7},
		{theme.ColorNameForeground, theme.ColorNameButton, 7},
		{theme.ColorNameForeground, theme.ColorNameInputBackground, 7},
		{theme.ColorNamePlaceHolder, theme.ColorNameBackground, 4.5},
		{theme.ColorNameHyperlink, theme.ColorNameBackground, 4.5},
		{theme.ColorNameForegroundOnPrimary, theme.ColorNamePrimary, 4.5},
		{theme.ColorNameForegroundOnError, theme.ColorNameError, 4.5},
		{theme.ColorNameForegroundOnSuccess, theme.ColorNameSuccess, 4.5},
		{theme.ColorNameForegroundOnWarning, theme.ColorNameWarning, 4.5},
	}
	for _, v := range []fyne.ThemeVariant{theme.VariantDark, theme.VariantLight} {
		th := ui.NewTheme(v)
		for _, p := range pairs {
			fg, bg := th.Color(p.fg, v), th.Color(p.bg, v)
			if got := contrast(fg, bg); got < p.min {
				t.Errorf("variant %v: contrast(%s, %s) = %.2f, want >= %.1f", v, p.fg, p.bg, got, p.min)
			}
		}
	}
}

func TestReadingSizes(t *testing.T) {
	th := ui.NewTheme(theme.VariantDark)
	if r, c, body := th.Size(ui.SizeNameReading), th.Size(ui.SizeNameReadingCaption), th.Size(theme.SizeNameText); r <= 2*body || c <= body || r <= c {
		t.Errorf("reading %v, caption %v, body %v: want reading > 2×body and reading > caption > body", r, c, body)
	}

	a := test.NewTempApp(t) // Fyne's test theme knows nothing of the reading sizes
	if got := ui.ReadingTextSize(); got <= 0 {
		t.Errorf("ReadingTextSize() with the test theme = %v, want the default", got)
	}
	a.Settings().SetTheme(th)
	if got, want := ui.ReadingTextSize(), th.Size(ui.SizeNameReading); got != want {
		t.Errorf("ReadingTextSize() = %v, want %v", got, want)
	}
	if got, want := ui.ReadingCaptionSize(), th.Size(ui.SizeNameReadingCaption); got != want {
		t.Errorf("ReadingCaptionSize() = %v, want %v", got, want)
	}
	txt := ui.NewReadingText("-2.25")
	if txt.TextSize != ui.ReadingTextSize() || !txt.TextStyle.Monospace || !txt.TextStyle.Bold {
		t.Errorf("NewReadingText: size %v, style %+v; want size %v, bold monospace", txt.TextSize, txt.TextStyle, ui.ReadingTextSize())
	}
}

// contrast returns the WCAG 2 contrast ratio of two opaque colors.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance returns the WCAG relative luminance of c.
func luminance(c color.Color) float64 {
	r, g, b, _ := color.NRGBAModel.Convert(c).RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
