package viewer

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina"
)

// addMark shows a new mark and saves it.
func (v *Viewer) addMark(a lane.Annotation) {
	v.marks = append(v.marks, mark{an: a})
	v.save(len(v.marks) - 1)
}

// save stores mark i through the AnnotationStore off the UI goroutine. The
// mark stays on screen while it is saved; if saving fails it is flagged and
// RetrySaves tries again.
func (v *Viewer) save(i int) {
	m := &v.marks[i]
	if v.cfg.Store == nil {
		m.failed = true
		v.setStatus("Marks cannot be saved here")
		return
	}
	m.saving, m.failed = true, false
	an, img, store, ctx := m.an, v.img, v.cfg.Store, v.ctx
	local := an
	v.requestFrame()
	v.setStatus("Saving " + describe(an) + "…")
	done := func(saved lane.Annotation, err error) {
		j := v.findMark(local)
		if j < 0 {
			return // the image changed meanwhile
		}
		mm := &v.marks[j]
		mm.saving = false
		if err != nil {
			mm.failed = true
			v.setStatus("Not saved: " + err.Error())
			return
		}
		mm.an = saved
		if saved.Deleted {
			v.marks = append(v.marks[:j], v.marks[j+1:]...)
			v.requestFrame()
			v.setStatus("Mark deleted")
			return
		}
		v.requestFrame()
		v.setStatus("Saved " + describe(saved))
	}
	if v.sync {
		done(store.SaveAnnotation(ctx, img, an))
		return
	}
	go func() {
		saved, err := store.SaveAnnotation(ctx, img, an)
		fyne.Do(func() { done(saved, err) })
	}()
}

// findMark returns the index of the mark that was a when its save started:
// matched by ID once it has one, else by identity of content.
func (v *Viewer) findMark(a lane.Annotation) int {
	for i := range v.marks {
		m := v.marks[i].an
		if a.ID != "" && m.ID == a.ID {
			return i
		}
		if a.ID == "" && m.ID == "" && m.Kind == a.Kind && m.Text == a.Text && samePoints(m.Points, a.Points) {
			return i
		}
	}
	return -1
}

func samePoints(a, b []lane.Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Unsaved returns how many marks failed to save.
func (v *Viewer) Unsaved() int {
	n := 0
	for _, m := range v.marks {
		if m.failed {
			n++
		}
	}
	return n
}

// RetrySaves saves again every mark whose save failed.
func (v *Viewer) RetrySaves() {
	for i := range v.marks {
		if v.marks[i].failed {
			v.save(i)
		}
	}
}

// DeleteLast removes the most recent saved mark (saving it as deleted), or
// drops the most recent unsaved one.
func (v *Viewer) DeleteLast() {
	for i := len(v.marks) - 1; i >= 0; i-- {
		m := &v.marks[i]
		if m.saving {
			continue
		}
		if m.an.ID == "" {
			v.marks = append(v.marks[:i], v.marks[i+1:]...)
			v.requestFrame()
			v.setStatus("Mark removed")
			return
		}
		m.an.Deleted = true
		v.save(i)
		return
	}
	v.setStatus("No mark to delete")
}

// describe names a mark for status lines, without its text (a label may
// carry a finding; it stays on the image, not in messages).
func describe(a lane.Annotation) string {
	switch a.Kind {
	case lane.AnnotDisc:
		return "disc outline"
	case lane.AnnotCup:
		return "cup outline"
	}
	return string(a.Kind) + " mark"
}

// Readout returns the live measurement lines the panel shows: the mark
// being drawn (or the last measured one), and the cup-to-disc ratios when
// a disc and a cup outline are present.
func (v *Viewer) Readout() string {
	var lines []string
	cur := v.draft
	if cur == nil {
		for i := len(v.marks) - 1; i >= 0; i-- {
			if k := v.marks[i].an.Kind; k == lane.AnnotLength || k == lane.AnnotArea || k == lane.AnnotCircle || k == lane.AnnotDisc || k == lane.AnnotCup {
				cur = &v.marks[i].an
				break
			}
		}
	}
	if cur != nil {
		if s := measure(*cur, v.cal); s != "" {
			lines = append(lines, s)
		}
	}
	var disc, cup *lane.Annotation
	all := v.Annotations()
	if v.draft != nil {
		all = append(all, *v.draft)
	}
	for i := range all {
		switch all[i].Kind {
		case lane.AnnotDisc:
			disc = &all[i]
		case lane.AnnotCup:
			cup = &all[i]
		}
	}
	if disc != nil && cup != nil {
		if r, err := retina.CupToDisc(*disc, *cup); err == nil {
			lines = append(lines, fmt.Sprintf("C/D vertical %.2f  horizontal %.2f  area %.2f", r.Vertical, r.Horizontal, r.Area))
			if r.CupOutsideDisc {
				lines = append(lines, "Check the outlines: the cup extends beyond the disc")
			}
		}
	}
	if len(lines) == 0 {
		switch {
		case v.cal.MMPerPixel > 0:
			lines = append(lines, "Measurements in mm (pixel spacing from the image)")
		case v.cal.DegPerPixel > 0:
			lines = append(lines, "Measurements in degrees (camera field of view)")
		case v.pyr != nil:
			lines = append(lines, "Measurements in pixels (image not calibrated)")
		}
	}
	return strings.Join(lines, "\n")
}

// measure formats one mark's measurement.
func measure(a lane.Annotation, cal retina.Calibration) string {
	switch a.Kind {
	case lane.AnnotLength:
		return "Length " + cal.Length(a.Points).String()
	case lane.AnnotArea:
		if len(a.Points) >= 3 {
			return "Area " + cal.Area(a.Points).String()
		}
	case lane.AnnotCircle:
		if len(a.Points) >= 2 {
			return "Diameter " + diameter(a.Points[:2], cal).String() + ", area " + cal.Area(retina.Outline(a)).String()
		}
	case lane.AnnotDisc, lane.AnnotCup:
		o := retina.Outline(a)
		if len(o) >= 3 {
			name := "Disc"
			if a.Kind == lane.AnnotCup {
				name = "Cup"
			}
			return name + " area " + cal.Area(o).String()
		}
	}
	return ""
}

// diameter is twice the centre-to-rim distance.
func diameter(pts []lane.Point, cal retina.Calibration) retina.Value {
	r := cal.Length(pts)
	r.V *= 2
	return r
}
