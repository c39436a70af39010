package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// columns is a layout that puts objects side by side in fixed-width
// columns, so that the rows of a list and its header line up. The column
// at index flex takes the width left over (at least its own minimum); a
// flex of -1 leaves the remainder empty. Every object gets the row's full
// height.
type columns struct {
	widths []float32
	flex   int
}

// newColumns returns a row of objects laid out in columns of the given
// widths; the column at flex stretches.
func newColumns(widths []float32, flex int, objects ...fyne.CanvasObject) *fyne.Container {
	return container.New(&columns{widths: widths, flex: flex}, objects...)
}

// Layout places the objects in their columns.
func (c *columns) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	fixed := float32(0)
	for i := range objects {
		if i != c.flex {
			fixed += c.width(i, objects[i]) + pad
		}
	}
	x := float32(0)
	for i, o := range objects {
		w := c.width(i, o)
		if i == c.flex {
			w = max(size.Width-fixed, o.MinSize().Width)
		}
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w + pad
	}
}

// width is column i's width, its object's minimum when none is given.
func (c *columns) width(i int, o fyne.CanvasObject) float32 {
	if i < len(c.widths) && c.widths[i] > 0 {
		return c.widths[i]
	}
	return o.MinSize().Width
}

// MinSize is the sum of the column widths and the tallest object.
func (c *columns) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objects {
		m := o.MinSize()
		s.Width += c.width(i, o)
		if i > 0 {
			s.Width += theme.Padding()
		}
		s.Height = max(s.Height, m.Height)
	}
	return s
}

// heading returns a bold label for a section of a screen.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}

// note returns a wrapped label in the secondary color for hints.
func note(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.LowImportance
	return l
}

// hint returns a one-line label in the secondary color, cut with an
// ellipsis when there is no room. Use it where the width is not fixed
// (beside buttons, in a border's center): a wrapping label there would
// ask for a word per line and stretch the window.
func hint(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Truncation = fyne.TextTruncateEllipsis
	l.Importance = widget.LowImportance
	return l
}

// valueLabel returns a label for a measured value: bold monospace, so that
// signs and decimal points line up down a column.
func valueLabel(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true, Monospace: true})
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}

// spacer returns a transparent rectangle of the given minimum size.
func spacer(w, h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, h))
	return r
}
