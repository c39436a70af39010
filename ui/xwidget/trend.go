// Package xwidget holds Examlane's own Fyne widgets, named apart from
// fyne.io/fyne/v2/widget. Trend is a small plot of a clinical value over
// visits.
package xwidget

import (
	"image/color"
	"math"
	"sort"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Marker is the shape that marks a series' points. Series differ by shape
// and name, never by color alone.
type Marker int

// Markers.
const (
	MarkerCircle Marker = iota // a filled circle
	MarkerSquare               // a hollow square
)

// Point is one value at one time.
type Point struct {
	At    time.Time
	Value float64
}

// Series is a named run of points, for example one eye's pressures.
type Series struct {
	Name   string
	Marker Marker
	Points []Point
}

// Trend is a small line plot of one quantity over time, such as IOP per
// eye over visits. It draws with canvas lines, circles and rectangles: a
// title with the unit, the lowest, middle and highest values on the
// vertical axis, the first and last dates on the horizontal one, a legend
// naming each series beside its marker, and a line through each series'
// points in time order. With no points it says so.
type Trend struct {
	widget.BaseWidget

	// Title names the quantity and Unit its unit ("IOP", "mmHg"); the
	// plot's heading is "Title (Unit)".
	Title string
	Unit  string
	// Decimals is how many decimals the axis values carry.
	Decimals int
	// MinSpan is the smallest value range the vertical axis shows, so that
	// a steady series is drawn flat rather than stretched.
	MinSpan float64

	series []Series
}

// NewTrend returns an empty trend plot.
func NewTrend(title, unit string, decimals int, minSpan float64) *Trend {
	t := &Trend{Title: title, Unit: unit, Decimals: decimals, MinSpan: minSpan}
	t.ExtendBaseWidget(t)
	return t
}

// SetSeries replaces the plotted series and redraws.
func (t *Trend) SetSeries(s []Series) {
	t.series = make([]Series, len(s))
	for i, x := range s {
		pts := append([]Point(nil), x.Points...)
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].At.Before(pts[b].At) })
		x.Points = pts
		t.series[i] = x
	}
	t.Refresh()
}

// Series returns the plotted series.
func (t *Trend) Series() []Series { return t.series }

// MinSize is a readable small plot.
func (t *Trend) MinSize() fyne.Size {
	t.ExtendBaseWidget(t)
	return fyne.NewSize(220, 160)
}

// CreateRenderer returns the plot's renderer.
func (t *Trend) CreateRenderer() fyne.WidgetRenderer {
	t.ExtendBaseWidget(t)
	r := &trendRenderer{t: t}
	r.build(t.Size())
	return r
}

// trendRenderer rebuilds its canvas objects for every layout: a plot has
// few of them and changes rarely.
type trendRenderer struct {
	t       *Trend
	objects []fyne.CanvasObject
}

func (r *trendRenderer) Destroy()                     {}
func (r *trendRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *trendRenderer) MinSize() fyne.Size           { return fyne.NewSize(220, 160) }
func (r *trendRenderer) Layout(s fyne.Size)           { r.build(s) }
func (r *trendRenderer) Refresh() {
	r.build(r.t.Size())
	canvas.Refresh(r.t)
}

// Plot margins, in Fyne units.
const (
	marginLeft   = 48
	marginRight  = 10
	marginTop    = 44 // title and legend
	marginBottom = 22
	markerSize   = 8
)

// text returns a canvas text in the theme's foreground at size.
func text(s string, size float32, c color.Color) *canvas.Text {
	t := canvas.NewText(s, c)
	t.TextSize = size
	return t
}

// build lays the plot out in size.
func (r *trendRenderer) build(size fyne.Size) {
	t := r.t
	fg := theme.Color(theme.ColorNameForeground)
	dim := theme.Color(theme.ColorNamePlaceHolder)
	grid := theme.Color(theme.ColorNameSeparator)
	small := theme.TextSize() * 0.8
	objs := []fyne.CanvasObject{}

	title := text(t.Title, theme.TextSize(), fg)
	if t.Unit != "" {
		title.Text += " (" + t.Unit + ")"
	}
	title.TextStyle = fyne.TextStyle{Bold: true}
	title.Move(fyne.NewPos(0, 0))
	objs = append(objs, title)

	// Legend under the title: marker then name, for each series.
	x := float32(0)
	for i, s := range t.series {
		m := marker(s.Marker, seriesColor(i))
		m.Move(fyne.NewPos(x, 24+(small-markerSize)/2+2))
		objs = append(objs, m)
		name := text(s.Name, small, fg)
		name.Move(fyne.NewPos(x+markerSize+4, 24))
		objs = append(objs, name)
		x += markerSize + 4 + fyne.MeasureText(s.Name, small, fyne.TextStyle{}).Width + 14
	}

	plotW := max(size.Width-marginLeft-marginRight, 10)
	plotH := max(size.Height-marginTop-marginBottom, 10)
	left, top := float32(marginLeft), float32(marginTop)

	var first, last time.Time
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range t.series {
		for _, p := range s.Points {
			if n == 0 || p.At.Before(first) {
				first = p.At
			}
			if n == 0 || p.At.After(last) {
				last = p.At
			}
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
			n++
		}
	}

	// Axes.
	yAxis := canvas.NewLine(dim)
	yAxis.Position1, yAxis.Position2 = fyne.NewPos(left, top), fyne.NewPos(left, top+plotH)
	xAxis := canvas.NewLine(dim)
	xAxis.Position1, xAxis.Position2 = fyne.NewPos(left, top+plotH), fyne.NewPos(left+plotW, top+plotH)
	objs = append(objs, yAxis, xAxis)

	if n == 0 {
		none := text("No values recorded yet", small, dim)
		none.Move(fyne.NewPos(left+8, top+plotH/2-small))
		r.objects = sizeTexts(append(objs, none))
		return
	}

	if span := hi - lo; span < t.MinSpan {
		mid := (hi + lo) / 2
		lo, hi = mid-t.MinSpan/2, mid+t.MinSpan/2
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	yOf := func(v float64) float32 { return top + plotH - float32((v-lo)/(hi-lo))*plotH }
	span := last.Sub(first)
	xOf := func(at time.Time) float32 {
		if span <= 0 {
			return left + plotW/2
		}
		return left + 6 + float32(float64(at.Sub(first))/float64(span))*(plotW-12)
	}

	// Horizontal grid lines with their values: bottom, middle, top.
	for _, v := range []float64{lo + pad, (lo + hi) / 2, hi - pad} {
		y := yOf(v)
		g := canvas.NewLine(grid)
		g.Position1, g.Position2 = fyne.NewPos(left+1, y), fyne.NewPos(left+plotW, y)
		label := text(strconv.FormatFloat(v, 'f', t.Decimals, 64), small, dim)
		w := fyne.MeasureText(label.Text, small, fyne.TextStyle{}).Width
		label.Move(fyne.NewPos(left-w-6, y-small*0.7))
		objs = append(objs, g, label)
	}

	// Dates at both ends of the horizontal axis.
	d1 := text(first.Format("2006-01-02"), small, dim)
	d1.Move(fyne.NewPos(left, top+plotH+4))
	objs = append(objs, d1)
	if span > 0 {
		d2 := text(last.Format("2006-01-02"), small, dim)
		w := fyne.MeasureText(d2.Text, small, fyne.TextStyle{}).Width
		d2.Move(fyne.NewPos(left+plotW-w, top+plotH+4))
		objs = append(objs, d2)
	}

	for i, s := range t.series {
		c := seriesColor(i)
		for k, p := range s.Points {
			px, py := xOf(p.At), yOf(p.Value)
			if k > 0 {
				prev := s.Points[k-1]
				l := canvas.NewLine(c)
				l.StrokeWidth = 2
				l.Position1, l.Position2 = fyne.NewPos(xOf(prev.At), yOf(prev.Value)), fyne.NewPos(px, py)
				objs = append(objs, l)
			}
			m := marker(s.Marker, c)
			m.Move(fyne.NewPos(px-markerSize/2, py-markerSize/2))
			objs = append(objs, m)
		}
	}
	r.objects = sizeTexts(objs)
}

// sizeTexts gives each text its natural size, which drawing and markup
// use.
func sizeTexts(objs []fyne.CanvasObject) []fyne.CanvasObject {
	for _, o := range objs {
		if t, ok := o.(*canvas.Text); ok {
			t.Resize(t.MinSize())
		}
	}
	return objs
}

// marker returns a point marker of the given shape and color.
func marker(m Marker, c color.Color) fyne.CanvasObject {
	if m == MarkerSquare {
		sq := canvas.NewRectangle(color.Transparent)
		sq.StrokeColor = c
		sq.StrokeWidth = 2
		sq.Resize(fyne.NewSquareSize(markerSize))
		return sq
	}
	ci := canvas.NewCircle(c)
	ci.Resize(fyne.NewSquareSize(markerSize))
	return ci
}

// seriesColor returns the color of the i'th series: the theme's primary
// color, then its warning color.
func seriesColor(i int) color.Color {
	if i%2 == 1 {
		return theme.Color(theme.ColorNameWarning)
	}
	return theme.Color(theme.ColorNamePrimary)
}
