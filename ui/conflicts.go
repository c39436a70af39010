package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// conflictScreen lists the changes the practice server refused because
// someone changed the same record first, and resolves them: both versions
// side by side, field by field, then keep mine, take theirs, or merge the
// fields chosen one by one. Nothing is resolved automatically.
type conflictScreen struct {
	d       *Desktop
	content fyne.CanvasObject

	message   *widget.Label
	list      *fyne.Container
	detail    *fyne.Container
	syncNow   *widget.Button
	conflicts []lane.Conflict
	current   int
	choices   map[string]*widget.RadioGroup // field → mine/theirs, for the conflict on display
}

var _ Lockable = (*conflictScreen)(nil)

// Field choices of a merge.
const (
	chooseMine   = "Mine"
	chooseTheirs = "Theirs"
)

func newConflictScreen(d *Desktop) *conflictScreen {
	s := &conflictScreen{d: d, current: -1}
	s.message = widget.NewLabel("")
	s.message.Truncation = fyne.TextTruncateEllipsis
	s.list = container.NewVBox()
	s.detail = container.NewVBox()
	s.syncNow = d.button("Sync now", theme.ViewRefreshIcon(), func() {
		if d.cfg.Sync != nil {
			d.cfg.Sync.SyncNow()
			d.notify("Sync requested")
		}
	})
	refresh := d.button("Refresh", theme.ViewRefreshIcon(), s.load)
	left := container.NewBorder(container.NewVBox(heading("Conflicts waiting"), container.NewHBox(s.syncNow, refresh)), nil, nil, nil,
		container.NewVScroll(s.list))
	s.content = container.NewBorder(s.message, nil,
		container.NewHBox(container.NewStack(spacer(300, 0), left), widget.NewSeparator()), nil,
		container.NewVScroll(s.detail))
	s.showList()
	return s
}

// view returns the screen's content for the shell.
func (s *conflictScreen) view() fyne.CanvasObject { return s.content }

// load fetches the conflicts waiting.
func (s *conflictScreen) load() {
	if s.d.cfg.Sync == nil {
		s.conflicts = nil
		s.message.SetText("This lane does not sync with a practice server, so there are no conflicts.")
		s.showList()
		return
	}
	if s.d.locked {
		return
	}
	s.d.async(func() func() {
		cs, err := s.d.cfg.Sync.Conflicts(s.d.ctx)
		return func() {
			if err != nil {
				s.message.SetText("The conflicts could not be loaded. " + errorText(err))
				return
			}
			s.conflicts = cs
			s.current = -1
			switch {
			case len(cs) == 0:
				s.message.SetText("No conflicts: every change on this lane reached the practice server or waits in the queue.")
			case !s.d.can(lane.PermResolveConflict):
				s.message.SetText("Someone else changed these records on another lane or at the server first. " +
					"An optometrist resolves them; your role can only look.")
			default:
				s.message.SetText("Someone else changed these records first. For each, keep your version, take theirs, " +
					"or merge them field by field. Nothing is lost until you choose.")
			}
			s.showList()
		}
	})
}

// showList redraws the list of conflicts and the one on display.
func (s *conflictScreen) showList() {
	s.list.RemoveAll()
	for i, c := range s.conflicts {
		b := s.d.button(fmt.Sprintf("%s · %s", entityName(c.Entity), dateText(c.Detected, s.d.tz)+" "+clockText(c.Detected, s.d.tz)), theme.WarningIcon(), func() {
			s.current = i
			s.showList()
		})
		b.Alignment = widget.ButtonAlignLeading
		if i == s.current {
			b.Importance = widget.HighImportance
		}
		s.list.Add(b)
	}
	if len(s.conflicts) == 0 {
		s.list.Add(note("None."))
	}
	s.showDetail()
}

// entityName names a synced record type for people.
func entityName(e string) string {
	switch e {
	case lane.EntityPatient:
		return "Patient details"
	case lane.EntityAppointment:
		return "Appointment"
	case lane.EntityEncounter:
		return "Exam"
	case lane.EntityMeasurement:
		return "Measurement"
	case lane.EntitySpectacleRx:
		return "Spectacle Rx"
	case lane.EntityContactRx:
		return "Contact lens Rx"
	case lane.EntityImage:
		return "Image"
	case lane.EntityAnnotation:
		return "Image annotation"
	}
	return e
}

// showDetail shows the chosen conflict's two versions field by field.
func (s *conflictScreen) showDetail() {
	s.detail.RemoveAll()
	s.choices = map[string]*widget.RadioGroup{}
	if s.current < 0 || s.current >= len(s.conflicts) {
		if len(s.conflicts) > 0 {
			s.detail.Add(note("Choose a conflict on the left."))
		}
		return
	}
	c := s.conflicts[s.current]
	mine, theirs, err := decodeVersions(c)
	if err != nil {
		s.detail.Add(widget.NewLabel("The two versions cannot be compared field by field: " + err.Error()))
	}
	s.detail.Add(heading(entityName(c.Entity) + " changed on both sides"))
	s.detail.Add(note(fmt.Sprintf("Detected %s at %s. Server version %s.", dateText(c.Detected, s.d.tz), clockText(c.Detected, s.d.tz), orDash(c.TheirsVersion))))
	cols := []float32{160, 0, 0, 190}
	equal := &equalColumns{fixed: []int{0, 3}, widths: cols}
	s.detail.Add(container.New(equal, columnTitle("Field"), columnTitle("Mine (this lane)"), columnTitle("Theirs (server)"), columnTitle("Keep")))
	s.detail.Add(widget.NewSeparator())
	for _, f := range unionKeys(mine, theirs) {
		a, b := jsonText(mine[f]), jsonText(theirs[f])
		ma, mb := widget.NewLabel(a), widget.NewLabel(b)
		ma.Wrapping, mb.Wrapping = fyne.TextWrapWord, fyne.TextWrapWord
		var choice fyne.CanvasObject
		if a == b {
			ma.Importance, mb.Importance = widget.LowImportance, widget.LowImportance
			same := widget.NewLabel("same")
			same.Importance = widget.LowImportance
			choice = same
		} else {
			ma.TextStyle, mb.TextStyle = fyne.TextStyle{Bold: true}, fyne.TextStyle{Bold: true}
			r := widget.NewRadioGroup([]string{chooseMine, chooseTheirs}, func(string) { s.d.touch() })
			r.Horizontal = true
			r.Required = true
			r.SetSelected(chooseMine)
			s.choices[f] = r
			choice = r
		}
		s.detail.Add(container.New(equal, widget.NewLabelWithStyle(f, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), ma, mb, choice))
	}
	keep := s.d.button("Keep mine", theme.ConfirmIcon(), func() { s.resolve(c, lane.ResolveKeepMine, nil) })
	take := s.d.button("Take theirs", theme.DownloadIcon(), func() { s.resolve(c, lane.ResolveTakeTheirs, nil) })
	merge := s.d.button("Merge chosen fields", theme.ContentCopyIcon(), func() {
		merged, err := mergeVersions(mine, theirs, s.chosen())
		if err != nil {
			s.d.showError(err)
			return
		}
		s.resolve(c, lane.ResolveMerge, merged)
	})
	merge.Importance = widget.HighImportance
	if !s.d.can(lane.PermResolveConflict) || err != nil {
		keep.Disable()
		take.Disable()
		merge.Disable()
	}
	s.detail.Add(container.NewHBox(keep, take, merge))
}

// chosen returns the fields to take from my version.
func (s *conflictScreen) chosen() map[string]bool {
	out := map[string]bool{}
	for f, r := range s.choices {
		out[f] = r.Selected == chooseMine
	}
	return out
}

// resolve records a decision.
func (s *conflictScreen) resolve(c lane.Conflict, how lane.ConflictResolution, merged []byte) {
	if s.d.cfg.Sync == nil {
		return
	}
	s.d.async(func() func() {
		err := s.d.cfg.Sync.Resolve(s.d.ctx, c.ID, how, merged)
		return func() {
			if err != nil {
				s.d.showError(err)
				return
			}
			s.d.notify("Conflict resolved: " + string(how))
			s.load()
			s.d.refreshSync()
		}
	})
}

// Lock forgets the conflicts, which may hold patient data.
func (s *conflictScreen) Lock() {
	s.conflicts = nil
	s.current = -1
	s.message.SetText("")
	s.showList()
}

// decodeVersions reads a conflict's two versions as JSON objects.
func decodeVersions(c lane.Conflict) (mine, theirs map[string]json.RawMessage, err error) {
	mine, theirs = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	if len(c.Mine) > 0 {
		if err = json.Unmarshal(c.Mine, &mine); err != nil {
			return mine, theirs, fmt.Errorf("this lane's version is not a JSON object")
		}
	}
	if len(c.Theirs) > 0 {
		if err = json.Unmarshal(c.Theirs, &theirs); err != nil {
			return mine, theirs, fmt.Errorf("the server's version is not a JSON object")
		}
	}
	return mine, theirs, nil
}

// unionKeys returns the fields of either version, sorted.
func unionKeys(a, b map[string]json.RawMessage) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]json.RawMessage{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// jsonText shows a JSON value compactly; "–" for an absent one.
func jsonText(v json.RawMessage) string {
	if len(v) == 0 {
		return "–"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	s := b.String()
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if json.Unmarshal(v, &str) == nil {
			return str
		}
	}
	return s
}

// mergeVersions builds the merged record: the server's version with the
// fields for which mine is true taken from this lane's version (a field
// absent from mine is removed).
func mergeVersions(mine, theirs map[string]json.RawMessage, useMine map[string]bool) ([]byte, error) {
	out := map[string]json.RawMessage{}
	for k, v := range theirs {
		out[k] = v
	}
	for k, pick := range useMine {
		if !pick {
			continue
		}
		if v, ok := mine[k]; ok {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return b, nil
}
