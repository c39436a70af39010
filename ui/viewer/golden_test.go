package viewer

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// TestWorkspaceMarkup is the golden of the single-image chrome: viewport,
// side panel (details, sliders, view buttons, tools, readout) and keys.
func TestWorkspaceMarkup(t *testing.T) {
	st := newFakeStore()
	v, w, g := newTestViewer(t, st)
	v.marks = []mark{
		{an: lane.Annotation{ID: "d", ImageID: "img1", Kind: lane.AnnotDisc, Points: []lane.Point{{X: g.Disc[0], Y: g.Disc[1]}, {X: g.Disc[0] + g.DiscRY, Y: g.Disc[1]}}}},
		{an: lane.Annotation{ID: "c", ImageID: "img1", Kind: lane.AnnotCup, Points: []lane.Point{{X: g.Cup[0], Y: g.Cup[1]}, {X: g.Cup[0] + g.CupRY, Y: g.Cup[1]}}}},
	}
	v.SetTool(ToolDisc)
	test.Type(v, "bc")
	w.SetContent(NewWorkspace(v))
	w.Resize(fyne.NewSize(900, 640))
	test.AssertRendersToMarkup(t, "workspace.xml", w.Canvas())
}

// TestCompareMarkup is the golden of the compare chrome in flicker mode.
func TestCompareMarkup(t *testing.T) {
	c, w := newTestCompare(t, 4)
	test.AssertRendersToMarkup(t, "compare_4.xml", w.Canvas())
	c2, w2 := newTestCompare(t, 2)
	if err := c2.SetFlicker(true); err != nil {
		t.Fatal(err)
	}
	c2.FlickerAt(c2.FlickerInterval())
	test.AssertRendersToMarkup(t, "compare_flicker.xml", w2.Canvas())
	_ = c
}

// TestViewportGolden is the PNG golden of a rendered viewport: zoomed,
// rotated, adjusted, with marks drawn from data.
func TestViewportGolden(t *testing.T) {
	v, _, g := newTestViewer(t, newFakeStore())
	anns := []lane.Annotation{
		{ID: "1", Kind: lane.AnnotDisc, Points: []lane.Point{{X: g.Disc[0], Y: g.Disc[1]}, {X: g.Disc[0] + g.DiscRY, Y: g.Disc[1]}}},
		{ID: "2", Kind: lane.AnnotCup, Points: []lane.Point{{X: g.Cup[0], Y: g.Cup[1]}, {X: g.Cup[0] + g.CupRY, Y: g.Cup[1]}}},
		{ID: "3", Kind: lane.AnnotLength, Points: []lane.Point{{X: g.Fovea[0], Y: g.Fovea[1]}, {X: g.Disc[0], Y: g.Disc[1] + 60}}},
		{ID: "4", Kind: lane.AnnotArrow, Points: []lane.Point{{X: g.Fovea[0] - 60, Y: g.Fovea[1] - 60}, {X: g.Fovea[0] - 8, Y: g.Fovea[1] - 8}}},
		{ID: "5", Kind: lane.AnnotText, Points: []lane.Point{{X: g.Fovea[0] - 90, Y: g.Fovea[1] - 66}}, Text: "fovea"},
	}
	v.SetImage(v.Image(), v.Pyramid(), anns)
	test.Type(v, "+r")
	v.SetAdjust(retina.Adjust{Contrast: 0.2, CLAHE: true})
	test.AssertImageMatches(t, "viewport.png", v.Frame())
}
