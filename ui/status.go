package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// This file fills the status bar: the link to the practice server (online
// or offline, last sync, queued changes, conflicts waiting, pre-fetch
// progress) and the instruments' states. The status bar stays on screen
// whatever screen is shown, so it never carries patient data.

// instrumentInfos returns the configured instruments with their latest
// state: the device hub's list, and any instrument known only from an
// InstrumentChanged event.
func (d *Desktop) instrumentInfos() []InstrumentInfo {
	var infos []InstrumentInfo
	if d.cfg.Instruments != nil {
		infos = d.cfg.Instruments.List()
	}
	seen := map[string]bool{}
	for _, in := range infos {
		seen[in.Profile] = true
	}
	var extra []InstrumentInfo
	for p, st := range d.instruments {
		if !seen[p] {
			extra = append(extra, InstrumentInfo{InstrumentState: st})
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Profile < extra[j].Profile })
	return append(infos, extra...)
}

// refreshInstruments redraws what shows the instruments.
func (d *Desktop) refreshInstruments() {
	d.pretest.refreshInstruments()
	d.exam.refreshInstruments()
	d.refreshStatus()
}

// refreshStatus recomputes the whole status bar.
func (d *Desktop) refreshStatus() {
	st := d.shell.Status()
	st.Instruments = instrumentsText(d.instrumentInfos())
	d.shell.SetStatus(st)
	d.refreshSync()
}

// refreshSync polls the sync view and updates the status bar.
func (d *Desktop) refreshSync() {
	if d.cfg.Sync == nil {
		st := d.shell.Status()
		if st.Sync == "" {
			st.Sync = "Not connected to a practice server"
			d.shell.SetStatus(st)
		}
		return
	}
	d.applySync(d.cfg.Sync.Status())
}

// applySync shows a sync status.
func (d *Desktop) applySync(ss lane.SyncStatus) {
	st := d.shell.Status()
	st.Sync = syncText(ss, d.today(), d.tz)
	st.Conflicts = ss.Conflicts
	st.Busy = ss.Progress >= 0 && ss.Progress < 1 && ss.Online
	st.Progress = ss.Progress
	if st != d.shell.Status() {
		d.shell.SetStatus(st)
	}
}

// syncText describes a sync status in a line.
func syncText(ss lane.SyncStatus, today lane.Date, tz *time.Location) string {
	var parts []string
	if ss.Online {
		parts = append(parts, "Online")
	} else {
		off := "Offline"
		if ss.LastError != "" {
			off += " (" + shorten(ss.LastError, 48) + ")"
		}
		parts = append(parts, off)
	}
	if ss.LastSuccess.IsZero() {
		parts = append(parts, "never synced")
	} else {
		when := clockText(ss.LastSuccess, tz)
		if lane.DateOf(ss.LastSuccess.In(tz)) != today {
			when = ss.LastSuccess.In(tz).Format("2006-01-02 15:04")
		}
		parts = append(parts, "last sync "+when)
	}
	if ss.Queued > 0 {
		parts = append(parts, plural(ss.Queued, "change", "changes")+" queued")
	}
	if ss.Online && ss.LastError != "" {
		// reachable, but the server refused something: the queue is
		// not draining, and someone should know why
		parts = append(parts, "not accepted: "+shorten(ss.LastError, 48))
	}
	if ss.Progress >= 0 && ss.Progress < 1 && ss.Online {
		parts = append(parts, fmt.Sprintf("fetching %d%%", int(ss.Progress*100)))
	}
	return strings.Join(parts, " · ")
}

// instrumentsText summarises the instruments' states in a line, naming
// those that are not working.
func instrumentsText(infos []InstrumentInfo) string {
	if len(infos) == 0 {
		return "No instruments configured"
	}
	ok := 0
	var down []string
	for _, in := range infos {
		switch in.State {
		case "connected", "receiving":
			ok++
		default:
			_, text, _ := instrumentState(in.InstrumentState)
			if i := strings.IndexByte(text, ':'); i > 0 {
				text = text[:i]
			}
			down = append(down, orDash(in.Name)+" "+strings.ToLower(text))
		}
	}
	s := fmt.Sprintf("Instruments: %d of %d connected", ok, len(infos))
	if len(down) > 0 {
		s += " · " + strings.Join(down, ", ")
	}
	return s
}

// shorten cuts s to at most n runes, with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
