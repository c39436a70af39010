package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
)

// Size names that Examlane adds to Fyne's theme. Look them up with
// theme.Size, or use ReadingTextSize and NewReadingText.
const (
	// SizeNameReading is the text size of a measured value meant to be read
	// at a glance from across the lane, such as a sphere power or an axis.
	SizeNameReading fyne.ThemeSizeName = "examlane.reading"
	// SizeNameReadingCaption is the text size of the label or unit shown
	// beside a reading ("SPH", "D", "°").
	SizeNameReadingCaption fyne.ThemeSizeName = "examlane.readingCaption"
)

// Fallback sizes used when the current theme does not define the Examlane
// size names, for example in tests that run with Fyne's test theme.
const (
	defaultReadingSize        = 40
	defaultReadingCaptionSize = 16
)

// Theme is the Examlane look. The dark variant is a dim-room palette for
// exam lanes, where the room is darkened for retinoscopy and a bright screen
// would dazzle the patient and the clinician's dark-adapted eyes: near-black
// blue-grey surfaces, soft off-white text instead of pure white and a teal
// accent. The light variant is for bright rooms such as the dispensing
// area.
//
// Theme embeds Fyne's default theme, which supplies the fonts, icons and any
// color or size it does not override. It keeps its own variant whatever the
// desktop prefers, so the lane does not flip to light because the operating
// system did.
type Theme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

var _ fyne.Theme = (*Theme)(nil)

// NewTheme returns the Examlane theme in variant, theme.VariantDark (the
// default for lanes) or theme.VariantLight. Any other value gives the dark
// variant.
func NewTheme(variant fyne.ThemeVariant) *Theme {
	if variant != theme.VariantLight {
		variant = theme.VariantDark
	}
	return &Theme{Theme: theme.DefaultTheme(), variant: variant}
}

// Variant reports which variant the theme draws: theme.VariantDark or
// theme.VariantLight.
func (t *Theme) Variant() fyne.ThemeVariant { return t.variant }

// Color returns the named color in the theme's own variant. The variant
// argument, which Fyne derives from the desktop preference, is ignored.
func (t *Theme) Color(name fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	palette := darkPalette
	if t.variant == theme.VariantLight {
		palette = lightPalette
	}
	if c, ok := palette[name]; ok {
		return c
	}
	return t.Theme.Color(name, t.variant)
}

// Size returns the named size. Body and heading text are a little larger
// than Fyne's defaults, for reading at arm's length; the reading sizes are
// Examlane's own.
func (t *Theme) Size(name fyne.ThemeSizeName) float32 {
	switch name {
	case theme.SizeNameText:
		return 15
	case theme.SizeNameHeadingText:
		return 26
	case theme.SizeNameSubHeadingText:
		return 19
	case SizeNameReading:
		return defaultReadingSize
	case SizeNameReadingCaption:
		return defaultReadingCaptionSize
	}
	return t.Theme.Size(name)
}

// ReadingTextSize returns the current theme's text size for a measured value
// (SizeNameReading), or a sensible default when the theme in use is not the
// Examlane theme.
func ReadingTextSize() float32 {
	if s := theme.Size(SizeNameReading); s > 0 {
		return s
	}
	return defaultReadingSize
}

// ReadingCaptionSize returns the current theme's text size for the label or
// unit beside a reading (SizeNameReadingCaption), or a sensible default.
func ReadingCaptionSize() float32 {
	if s := theme.Size(SizeNameReadingCaption); s > 0 {
		return s
	}
	return defaultReadingCaptionSize
}

// NewReadingText returns text for a measured value such as "-2.25" or
// "180": bold, at ReadingTextSize, in the foreground color, and monospaced
// so that signs and decimal points line up down a column. The text does not
// follow later theme changes; build it again after changing the theme.
func NewReadingText(s string) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextSize = ReadingTextSize()
	t.TextStyle = fyne.TextStyle{Bold: true, Monospace: true}
	return t
}

// rgb returns an opaque color from a 0xRRGGBB value.
func rgb(v uint32) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// rgba returns a color from a 0xRRGGBB value and an alpha.
func rgba(v uint32, a uint8) color.NRGBA {
	c := rgb(v)
	c.A = a
	return c
}

// Teal accents, the same hue as the app icon's iris.
const (
	tealDark  = 0x2bb3a3 // accent on dark surfaces
	tealLight = 0x00796b // accent on light surfaces, dark enough for white text
)

// darkPalette is the dim-room palette.
var darkPalette = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameBackground:          rgb(0x0f1418),
	theme.ColorNameButton:              rgb(0x1c252c),
	theme.ColorNameDisabledButton:      rgb(0x161c21),
	theme.ColorNameDisabled:            rgb(0x56626b),
	theme.ColorNameError:               rgb(0xe07070),
	theme.ColorNameFocus:               rgba(tealDark, 0x80),
	theme.ColorNameForeground:          rgb(0xd3dbe1),
	theme.ColorNameForegroundOnError:   rgb(0x0f1418),
	theme.ColorNameForegroundOnPrimary: rgb(0x061f1c),
	theme.ColorNameForegroundOnSuccess: rgb(0x0f1418),
	theme.ColorNameForegroundOnWarning: rgb(0x0f1418),
	theme.ColorNameHeaderBackground:    rgb(0x141b20),
	theme.ColorNameHover:               rgba(0xffffff, 0x0f),
	theme.ColorNameHyperlink:           rgb(0x5cc8ba),
	theme.ColorNameInputBackground:     rgb(0x161d23),
	theme.ColorNameInputBorder:         rgb(0x2c3740),
	theme.ColorNameMenuBackground:      rgb(0x182027),
	theme.ColorNameOverlayBackground:   rgb(0x182027),
	theme.ColorNamePlaceHolder:         rgb(0x7a8791),
	theme.ColorNamePressed:             rgba(0x000000, 0x33),
	theme.ColorNamePrimary:             rgb(tealDark),
	theme.ColorNameScrollBar:           rgba(0x8a97a0, 0x99),
	theme.ColorNameScrollBarBackground: rgba(0xffffff, 0x0a),
	theme.ColorNameSelection:           rgba(tealDark, 0x40),
	theme.ColorNameSeparator:           rgb(0x242e36),
	theme.ColorNameShadow:              rgba(0x000000, 0x66),
	theme.ColorNameSuccess:             rgb(0x5cbf7a),
	theme.ColorNameWarning:             rgb(0xe0a84a),
}

// lightPalette is the variant for bright rooms.
var lightPalette = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameBackground:          rgb(0xf4f6f7),
	theme.ColorNameButton:              rgb(0xe2e7ea),
	theme.ColorNameDisabledButton:      rgb(0xe9ecee),
	theme.ColorNameDisabled:            rgb(0x9aa5ad),
	theme.ColorNameError:               rgb(0xc0392b),
	theme.ColorNameFocus:               rgba(tealLight, 0x80),
	theme.ColorNameForeground:          rgb(0x1c2429),
	theme.ColorNameForegroundOnError:   rgb(0xffffff),
	theme.ColorNameForegroundOnPrimary: rgb(0xffffff),
	theme.ColorNameForegroundOnSuccess: rgb(0xffffff),
	theme.ColorNameForegroundOnWarning: rgb(0xffffff),
	theme.ColorNameHeaderBackground:    rgb(0xe8ecef),
	theme.ColorNameHover:               rgba(0x000000, 0x0f),
	theme.ColorNameHyperlink:           rgb(tealLight),
	theme.ColorNameInputBackground:     rgb(0xffffff),
	theme.ColorNameInputBorder:         rgb(0xc5cdd3),
	theme.ColorNameMenuBackground:      rgb(0xffffff),
	theme.ColorNameOverlayBackground:   rgb(0xffffff),
	theme.ColorNamePlaceHolder:         rgb(0x66727b),
	theme.ColorNamePressed:             rgba(0x000000, 0x19),
	theme.ColorNamePrimary:             rgb(tealLight),
	theme.ColorNameScrollBar:           rgba(0x000000, 0x55),
	theme.ColorNameScrollBarBackground: rgba(0x000000, 0x0a),
	theme.ColorNameSelection:           rgba(tealLight, 0x33),
	theme.ColorNameSeparator:           rgb(0xd5dce1),
	theme.ColorNameShadow:              rgba(0x000000, 0x33),
	theme.ColorNameSuccess:             rgb(0x2e7d32),
	theme.ColorNameWarning:             rgb(0xa35f00),
}
