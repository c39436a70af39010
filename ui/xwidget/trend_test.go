package xwidget_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/ui/xwidget"
)

// day returns a synthetic visit date.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

// iopSeries is three synthetic visits of both eyes.
var iopSeries = []xwidget.Series{
	{Name: "Right", Marker: xwidget.MarkerCircle, Points: []xwidget.Point{
		{At: day(2026, 11, 23), Value: 19}, {At: day(2024, 11, 20), Value: 15}, {At: day(2025, 11, 20), Value: 16},
	}},
	{Name: "Left", Marker: xwidget.MarkerSquare, Points: []xwidget.Point{
		{At: day(2024, 11, 20), Value: 14}, {At: day(2025, 11, 20), Value: 15}, {At: day(2026, 11, 23), Value: 21},
	}},
}

func TestTrendRenders(t *testing.T) {
	test.NewTempApp(t)
	tr := xwidget.NewTrend("IOP", "mmHg", 0, 6)
	tr.SetSeries(iopSeries)
	w := test.NewTempWindow(t, tr)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(320, 200))
	test.AssertRendersToMarkup(t, "trend/iop.xml", w.Canvas())
	test.AssertRendersToImage(t, "trend/iop.png", w.Canvas())
}

func TestTrendSortsPointsAndSaysWhenEmpty(t *testing.T) {
	test.NewTempApp(t)
	tr := xwidget.NewTrend("SE", "D", 2, 1)
	tr.SetSeries(iopSeries)
	for _, s := range tr.Series() {
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].At.Before(s.Points[i-1].At) {
				t.Errorf("series %s is not in time order", s.Name)
			}
		}
	}
	if iopSeries[0].Points[0].Value != 19 {
		t.Error("SetSeries reordered the caller's slice")
	}
	tr.SetSeries(nil)
	w := test.NewTempWindow(t, tr)
	w.Resize(fyne.NewSize(300, 200))
	var empty bool
	for _, o := range test.LaidOutObjects(tr) {
		if txt, ok := o.(*canvas.Text); ok && txt.Text == "No values recorded yet" {
			empty = true
		}
	}
	if !empty {
		t.Error("an empty plot does not say so")
	}
}

func TestTrendFlatSeriesKeepsMinimumSpan(t *testing.T) {
	test.NewTempApp(t)
	tr := xwidget.NewTrend("IOP", "mmHg", 0, 6)
	tr.SetSeries([]xwidget.Series{{Name: "Right", Points: []xwidget.Point{{At: day(2025, 1, 1), Value: 15}, {At: day(2026, 1, 1), Value: 15}}}})
	w := test.NewTempWindow(t, tr)
	w.Resize(fyne.NewSize(300, 200))
	var labels []string
	for _, o := range test.LaidOutObjects(tr) {
		if txt, ok := o.(*canvas.Text); ok {
			labels = append(labels, txt.Text)
		}
	}
	for _, want := range []string{"12", "15", "18", "2025-01-01", "2026-01-01", "IOP (mmHg)"} {
		found := false
		for _, l := range labels {
			found = found || l == want
		}
		if !found {
			t.Errorf("labels %q lack %q", labels, want)
		}
	}
}
