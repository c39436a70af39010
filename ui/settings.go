package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/lane"
)

// lockTimeouts are the idle lock times an administrator may choose, from
// the security design's 2 to 15 minutes.
var lockTimeouts = []time.Duration{2 * time.Minute, 3 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute}

// Appearance choices, for every user.
const (
	appearanceDark  = "Dark (dim exam room)"
	appearanceLight = "Light (bright room)"
)

// settingsScreen has two parts. Appearance (dark or light theme) is each
// user's own choice, remembered per user. The lane settings (its name, the
// idle lock time, the data directory, the practice server, the
// instruments and their profiles) are for administrators only
// (lane.PermChangeSettings); every saved change is audited through
// RecordSettingsChange before it is written.
type settingsScreen struct {
	d       *Desktop
	content fyne.CanvasObject

	appearance *widget.RadioGroup

	denied     *widget.Label
	form       *fyne.Container
	laneName   *entry
	lockAfter  *widget.Select
	dataDir    *entry
	serverURL  *entry
	enrolment  *widget.Label
	instBox    *fyne.Container
	rows       []*instrumentSettingRow
	message    *widget.Label
	saveButton *widget.Button
	// software shows administrators the update status (Config.Updates).
	softwareBox *fyne.Container
	software    *widget.Label

	loaded  LaneSettings
	loading bool // the appearance is being set from the preference, not by the user
}

var _ Lockable = (*settingsScreen)(nil)

// instrumentSettingRow edits one instrument.
type instrumentSettingRow struct {
	name, port, folder *entry
	profile            *widget.SelectEntry
	box                fyne.CanvasObject
}

func newSettingsScreen(d *Desktop) *settingsScreen {
	s := &settingsScreen{d: d}
	s.appearance = widget.NewRadioGroup([]string{appearanceDark, appearanceLight}, func(v string) { s.setAppearance(v) })
	s.appearance.Required = true

	s.denied = widget.NewLabel("")
	s.denied.Wrapping = fyne.TextWrapWord
	s.laneName = newEntry(d, "e.g. Lane 3")
	var opts []string
	for _, t := range lockTimeouts {
		opts = append(opts, durationText(t))
	}
	s.lockAfter = widget.NewSelect(opts, func(string) { d.touch() })
	s.dataDir = newEntry(d, "Empty: the per-user default")
	s.serverURL = newEntry(d, "https://practice-server:8443 (empty: the lane works alone)")
	s.enrolment = widget.NewLabel("")
	s.enrolment.Wrapping = fyne.TextWrapWord
	s.instBox = container.NewVBox()
	s.message = widget.NewLabel("")
	s.message.Wrapping = fyne.TextWrapWord
	s.saveButton = d.button("Save settings", theme.DocumentSaveIcon(), s.save)
	s.saveButton.Importance = widget.HighImportance
	addInst := d.button("Add instrument", theme.ContentAddIcon(), func() { s.addRow(InstrumentSetting{}) })

	lockItem := widget.NewFormItem("Lock after", s.lockAfter)
	lockItem.HintText = "Idle time before the lane hides patient data"
	form := widget.NewForm(
		widget.NewFormItem("Lane name", s.laneName),
		lockItem,
		widget.NewFormItem("Data directory", s.dataDir),
		widget.NewFormItem("Practice server", s.serverURL),
		widget.NewFormItem("Enrolment", s.enrolment),
	)
	s.form = container.NewVBox(
		form,
		heading("Instruments"),
		note("Each instrument's profile says how the lane talks to it. Changes to instruments apply at the next start of the lane."),
		s.instBox, addInst,
		widget.NewSeparator(),
		container.NewHBox(s.saveButton), s.message,
	)
	s.software = widget.NewLabel("")
	s.software.Wrapping = fyne.TextWrapWord
	s.softwareBox = container.NewVBox(widget.NewSeparator(), heading("Software"), s.software)
	s.softwareBox.Hide()
	s.content = container.NewVScroll(container.NewVBox(
		heading("Appearance"), s.appearance,
		s.softwareBox,
		widget.NewSeparator(),
		heading("Lane settings"), s.denied, s.form,
	))
	s.Lock()
	return s
}

// durationText formats a lock time, "5 minutes".
func durationText(t time.Duration) string {
	m := int(t.Minutes())
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// view returns the screen's content for the shell.
func (s *settingsScreen) view() fyne.CanvasObject { return s.content }

// themeKey is the preference holding a user's theme choice.
func themeKey(u lane.UserID) string { return "theme." + string(u) }

// setAppearance applies and remembers the user's theme choice.
func (s *settingsScreen) setAppearance(v string) {
	if s.d.cfg.App == nil {
		return
	}
	variant := theme.VariantDark
	if v == appearanceLight {
		variant = theme.VariantLight
	}
	cur, ours := s.d.cfg.App.Settings().Theme().(*Theme)
	// The dark variant is the lane's default: cmd starts with it. Switch
	// only when the variant on display differs.
	if ours && cur.Variant() != variant || !ours && variant == theme.VariantLight {
		s.d.cfg.App.Settings().SetTheme(NewTheme(variant))
	}
	if s.loading || s.d.session.User == "" || s.d.locked {
		return
	}
	s.d.touch()
	s.d.cfg.App.Preferences().SetString(themeKey(s.d.session.User), v)
}

// load shows the user's appearance and, for an administrator, loads the
// lane settings.
func (s *settingsScreen) load() {
	pref := appearanceDark
	if s.d.cfg.App != nil && s.d.session.User != "" {
		if v := s.d.cfg.App.Preferences().String(themeKey(s.d.session.User)); v == appearanceLight {
			pref = v
		}
	}
	if s.appearance.Selected != pref {
		s.loading = true
		s.appearance.SetSelected(pref)
		s.loading = false
	}
	if s.d.cfg.Updates != nil && s.d.can(lane.PermChangeSettings) {
		s.software.SetText(s.d.cfg.Updates())
		s.softwareBox.Show()
	} else {
		s.softwareBox.Hide()
	}
	switch {
	case !s.d.can(lane.PermChangeSettings):
		s.denied.SetText("Only an administrator can change the lane settings.")
		s.denied.Show()
		s.form.Hide()
		return
	case s.d.cfg.Settings == nil:
		s.denied.SetText("This lane's settings are kept in its configuration file; see 'examlane config'.")
		s.denied.Show()
		s.form.Hide()
		return
	}
	s.denied.Hide()
	s.d.async(func() func() {
		ls, err := s.d.cfg.Settings.Load(s.d.ctx)
		return func() {
			if err != nil {
				s.denied.SetText("The settings could not be loaded. " + errorText(err))
				s.denied.Show()
				return
			}
			s.fill(ls)
			s.form.Show()
		}
	})
}

// fill shows loaded settings.
func (s *settingsScreen) fill(ls LaneSettings) {
	s.loaded = ls
	s.laneName.SetText(ls.LaneName)
	idx := 2 // 5 minutes
	for i, t := range lockTimeouts {
		if t == ls.LockTimeout {
			idx = i
		}
	}
	s.lockAfter.SetSelectedIndex(idx)
	s.dataDir.SetText(ls.DataDir)
	s.serverURL.SetText(ls.ServerURL)
	s.enrolment.SetText(orDash(ls.Enrolment))
	s.instBox.RemoveAll()
	s.rows = nil
	for _, in := range ls.Instruments {
		s.addRow(in)
	}
	s.message.SetText("")
}

// addRow adds an instrument row.
func (s *settingsScreen) addRow(in InstrumentSetting) {
	var profiles []string
	if s.d.cfg.Settings != nil {
		profiles = s.d.cfg.Settings.Profiles()
	}
	r := &instrumentSettingRow{
		name: newEntry(s.d, "Name, e.g. Autorefractor"), port: newEntry(s.d, "Port, e.g. /dev/ttyUSB0"),
		folder: newEntry(s.d, "Folder (file-drop instruments)"), profile: widget.NewSelectEntry(profiles),
	}
	r.profile.SetPlaceHolder("Profile")
	r.name.SetText(in.Name)
	r.profile.SetText(in.Profile)
	r.port.SetText(in.Port)
	r.folder.SetText(in.Folder)
	remove := s.d.button("", theme.DeleteIcon(), nil)
	remove.OnTapped = func() {
		s.d.touch()
		for i, x := range s.rows {
			if x == r {
				s.rows = append(s.rows[:i], s.rows[i+1:]...)
			}
		}
		s.instBox.Remove(r.box)
	}
	r.box = container.NewBorder(nil, nil, nil, remove, container.NewGridWithColumns(4, r.name, r.profile, r.port, r.folder))
	s.rows = append(s.rows, r)
	s.instBox.Add(r.box)
}

// collect reads the form.
func (s *settingsScreen) collect() (LaneSettings, error) {
	ls := s.loaded
	ls.LaneName = strings.TrimSpace(s.laneName.Text)
	if i := s.lockAfter.SelectedIndex(); i >= 0 {
		ls.LockTimeout = lockTimeouts[i]
	}
	ls.DataDir = strings.TrimSpace(s.dataDir.Text)
	ls.ServerURL = strings.TrimSpace(s.serverURL.Text)
	ls.Instruments = nil
	seen := map[string]bool{}
	for _, r := range s.rows {
		in := InstrumentSetting{Name: strings.TrimSpace(r.name.Text), Profile: strings.TrimSpace(r.profile.Text),
			Port: strings.TrimSpace(r.port.Text), Folder: strings.TrimSpace(r.folder.Text)}
		switch {
		case in.Name == "":
			return ls, lane.Invalidf("every instrument needs a name")
		case in.Profile == "":
			return ls, lane.Invalidf("instrument %q needs a profile", in.Name)
		case seen[strings.ToLower(in.Name)]:
			return ls, lane.Invalidf("two instruments are named %q", in.Name)
		}
		seen[strings.ToLower(in.Name)] = true
		ls.Instruments = append(ls.Instruments, in)
	}
	return ls, nil
}

// settingsChanges describes what changed between two settings, for the
// audit trail: names of fields and instruments, never patient data.
func settingsChanges(old, cur LaneSettings) []string {
	var out []string
	if old.LaneName != cur.LaneName {
		out = append(out, "lane name")
	}
	if old.LockTimeout != cur.LockTimeout {
		out = append(out, fmt.Sprintf("lock timeout %s → %s", old.LockTimeout, cur.LockTimeout))
	}
	if old.DataDir != cur.DataDir {
		out = append(out, "data directory")
	}
	if old.ServerURL != cur.ServerURL {
		out = append(out, "server URL")
	}
	before := map[string]InstrumentSetting{}
	for _, in := range old.Instruments {
		before[in.Name] = in
	}
	after := map[string]bool{}
	for _, in := range cur.Instruments {
		after[in.Name] = true
		prev, ok := before[in.Name]
		switch {
		case !ok:
			out = append(out, "instrument added: "+in.Name+" ("+in.Profile+")")
		case prev != in:
			out = append(out, "instrument changed: "+in.Name)
		}
	}
	for _, in := range old.Instruments {
		if !after[in.Name] {
			out = append(out, "instrument removed: "+in.Name)
		}
	}
	return out
}

// save audits and saves the settings.
func (s *settingsScreen) save() {
	if s.d.cfg.Settings == nil {
		return
	}
	ls, err := s.collect()
	if err != nil {
		s.message.SetText(errorText(err))
		s.message.Importance = widget.DangerImportance
		s.message.Refresh()
		return
	}
	changes := settingsChanges(s.loaded, ls)
	if len(changes) == 0 {
		s.message.SetText("Nothing changed.")
		s.message.Importance = widget.MediumImportance
		s.message.Refresh()
		return
	}
	what := strings.Join(changes, "; ")
	s.d.async(func() func() {
		err := s.d.svc.RecordSettingsChange(s.d.ctx, what)
		if err == nil {
			err = s.d.cfg.Settings.Save(s.d.ctx, ls)
		}
		return func() {
			if err != nil {
				s.message.SetText("Not saved. " + errorText(err))
				s.message.Importance = widget.DangerImportance
				s.message.Refresh()
				return
			}
			s.loaded = ls
			s.d.SetLockTimeout(ls.LockTimeout)
			s.message.SetText("Saved: " + what + ".")
			s.message.Importance = widget.SuccessImportance
			s.message.Refresh()
		}
	})
}

// Lock hides the lane settings until an administrator signs in again.
func (s *settingsScreen) Lock() {
	s.form.Hide()
	s.denied.Hide()
	s.message.SetText("")
}
