package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

var (
	lastYear = time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)
	today    = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func refraction(t *testing.T, s string) *lane.Refraction {
	t.Helper()
	r, err := lane.ParseRx(s)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestLastVisitFlagThresholds checks each threshold at, just below and
// just above its boundary: a change equal to the threshold is not flagged.
func TestLastVisitFlagThresholds(t *testing.T) {
	prevRx := lane.Measurement{ID: "p", EncounterID: "old", Kind: lane.KindRefraction, Source: lane.SourceAutorefraction,
		Eye: lane.EyeRight, ReceivedAt: lastYear, Refraction: refraction(t, "-2.00 -0.50 x 180")}
	iop := func(id lane.MeasurementID, enc lane.EncounterID, at time.Time, v lane.MmHg) lane.Measurement {
		return lane.Measurement{ID: id, EncounterID: enc, Kind: lane.KindIOP, Source: lane.SourceManual, Eye: lane.EyeLeft, ReceivedAt: at, IOP: &lane.IOP{Pressure: v}}
	}
	k := func(id lane.MeasurementID, enc lane.EncounterID, at time.Time, k1, k2 lane.Diopters) lane.Measurement {
		return lane.Measurement{ID: id, EncounterID: enc, Kind: lane.KindKeratometry, Eye: lane.EyeRight, ReceivedAt: at,
			Keratometry: &lane.Keratometry{K1: lane.KMeridian{Power: k1, Axis: 180}, K2: lane.KMeridian{Power: k2, Axis: 90}}}
	}
	withRx := func(s string) lane.Measurement {
		m := prevRx
		m.ID, m.EncounterID, m.ReceivedAt, m.Refraction = "n", "new", today, refraction(t, s)
		return m
	}
	tests := []struct {
		name string
		prev lane.Measurement
		m    lane.Measurement
		want []string
	}{
		{"same", prevRx, withRx("-2.00 -0.50 x 180"), nil},
		{"SE exactly 0.75", prevRx, withRx("-2.75 -0.50 x 180"), nil},
		{"SE 0.875", prevRx, withRx("-2.875 -0.50 x 180"), []string{"SE -0.875 D"}},
		{"cyl exactly 0.75, SE 0.375", prevRx, withRx("-2.00 -1.25 x 180"), nil},
		{"cyl 1.00, SE 0.50", prevRx, withRx("-2.00 -1.50 x 180"), []string{"Cylinder -1.00 D"}},
		{"plus cylinder compared in minus form", prevRx, withRx("-2.50 +0.50 x 090"), nil},
		{"SE and cyl", prevRx, withRx("-1.00 -2.00 x 180"), []string{"Cylinder -1.50 D"}},
		{"IOP +5", iop("p", "old", lastYear, 150), iop("n", "new", today, 200), nil},
		{"IOP +5.5", iop("p", "old", lastYear, 150), iop("n", "new", today, 205), []string{"IOP +5.5 mmHg"}},
		{"IOP -6", iop("p", "old", lastYear, 210), iop("n", "new", today, 150), []string{"IOP -6 mmHg"}},
		{"K exactly 1.00", k("p", "old", lastYear, 43000, 44000), k("n", "new", today, 44000, 44000), nil},
		{"K2 1.25", k("p", "old", lastYear, 43000, 44000), k("n", "new", today, 43000, 45250), []string{"K2 +1.25 D"}},
		{"same encounter is not the last visit", prevRx, func() lane.Measurement { m := withRx("-4.00 DS"); m.EncounterID = "old"; return m }(), nil},
		{"other eye is not compared", prevRx, func() lane.Measurement { m := withRx("-4.00 DS"); m.Eye = lane.EyeLeft; return m }(), nil},
		{"other source is not compared", prevRx, func() lane.Measurement { m := withRx("-4.00 DS"); m.Source = lane.SourceSubjective; return m }(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastVisitFlags(tt.m, []lane.Measurement{tt.prev, tt.m}, time.UTC)
			if len(got) != len(tt.want) {
				t.Fatalf("flags = %q, want %d starting %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) || !strings.Contains(got[i], "since 2025-11-20") {
					t.Errorf("flag %d = %q, want it to start %q and name the last visit", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPreviousReadingIsNewest(t *testing.T) {
	older := lane.Measurement{ID: "a", EncounterID: "e1", Kind: lane.KindIOP, Eye: lane.EyeRight, ReceivedAt: lastYear.AddDate(-1, 0, 0), IOP: &lane.IOP{Pressure: 300}}
	newer := lane.Measurement{ID: "b", EncounterID: "e2", Kind: lane.KindIOP, Eye: lane.EyeRight, ReceivedAt: lastYear, IOP: &lane.IOP{Pressure: 150}}
	m := lane.Measurement{ID: "c", EncounterID: "e3", Kind: lane.KindIOP, Eye: lane.EyeRight, ReceivedAt: today, IOP: &lane.IOP{Pressure: 160}}
	if got := lastVisitFlags(m, []lane.Measurement{older, newer, m}, time.UTC); len(got) != 0 {
		t.Errorf("compared with the older visit: %q", got)
	}
}

func TestParseManual(t *testing.T) {
	tests := []struct {
		kind    manualKind
		eye     lane.Eye
		text    string
		want    string // valueText of the result
		wantErr string
	}{
		{manualVAUnaided, lane.EyeRight, "6/9", "6/9", ""},
		{manualVAAided, lane.EyeBoth, "20/25-2", "20/25-2", ""},
		{manualVAUnaided, lane.EyeLeft, "CF", "CF", ""},
		{manualVAUnaided, lane.EyeLeft, "6/x", "", "Could not read that"},
		{manualIOP, lane.EyeRight, "16", "16 mmHg", ""},
		{manualIOP, lane.EyeRight, "14.5", "14.5 mmHg", ""},
		{manualIOP, lane.EyeRight, "95", "", "expected 1 to 90 mmHg"},
		{manualIOP, lane.EyeBoth, "16", "", "choose R or L"},
		{manualPD, lane.EyeBoth, "63.5", "63.5 mm", ""},
		{manualPD, lane.EyeRight, "31", "31.0 mm", ""},
		{manualPD, lane.EyeRight, "63", "", "expected 10.0 to 45.0 mm"},
		{manualPD, lane.EyeBoth, "150", "", "expected 20.0 to 90.0 mm"},
		{manualKeratometry, lane.EyeRight, "43.25 @ 180 / 44.00 @ 90", "K1 +43.25 D @ 180  K2 +44.00 D @ 090", ""},
		{manualKeratometry, lane.EyeRight, "44.00 x 90, 43.25 x 180", "K1 +43.25 D @ 180  K2 +44.00 D @ 090", ""},
		{manualKeratometry, lane.EyeLeft, "7.80 @ 180 / 7.67 @ 90", "K1 +43.27 D @ 180  K2 +44.00 D @ 090", ""},
		{manualKeratometry, lane.EyeLeft, "43.25 @ 180", "", "type both meridians"},
		{manualKeratometry, lane.EyeLeft, "43.25 @ 200 / 44 @ 90", "", "expected 0 to 180"},
		{manualAutorefraction, lane.EyeRight, "-2.25 -0.75 x 180", "-2.25 -0.75 x 180", ""},
		{manualAutorefraction, lane.EyeRight, "-2.25 -0.75 x 181", "", "Could not read that"},
		{manualLensometry, lane.EyeLeft, "+1.00 -0.50 x 90 add +2.00", "+1.00 -0.50 x 090 add +2.00", ""},
		{manualAutorefraction, lane.EyeUnknown, "-1.00", "", "choose an eye"},
		{manualAutorefraction, lane.EyeRight, " ", "", "type a value"},
	}
	for _, tt := range tests {
		m, err := parseManual(tt.kind, tt.eye, tt.text)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(strings.ToLower(errorText(err)), strings.ToLower(tt.wantErr)) {
				t.Errorf("parseManual(%d, %v, %q) error = %v, want %q", tt.kind, tt.eye, tt.text, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseManual(%d, %v, %q): %v", tt.kind, tt.eye, tt.text, err)
			continue
		}
		if got := valueText(m); got != tt.want {
			t.Errorf("parseManual(%d, %v, %q) = %q, want %q", tt.kind, tt.eye, tt.text, got, tt.want)
		}
	}
	m, _ := parseManual(manualLensometry, lane.EyeLeft, "-1.00 DS")
	if m.Kind != lane.KindLensometry || m.Source != lane.SourceLensometry {
		t.Errorf("lensometry typed as %s/%s", m.Kind, m.Source)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", lane.ErrForbidden), "Your role does not allow this."},
		{lane.ErrBreakGlassRequired, "This chart is not on today's schedule. Opening it needs a reason (break-glass)."},
		{fmt.Errorf("save: %w", lane.ErrConflict), "Someone changed this record since it was opened. Reopen the chart and try again."},
		{lane.Invalidf("give a reason"), "Give a reason."},
		{fmt.Errorf("keychain: %w", lane.ErrUnavailable), "Not reachable right now: keychain."},
		{fmt.Errorf("sign in: %w", ErrPINLockedOut), "Too many wrong PINs. Sign in with your password and code."},
		{fmt.Errorf("sign in: %w", auth.ErrOfflineExpired), "Offline sign-in expired: connect to the practice network to sign in."},
		{fmt.Errorf("sign in: %w", auth.ErrAccountLocked), "This account is locked after too many failed sign-ins. Ask an administrator to reset it, or sign in when the practice server is reachable."},
		{fmt.Errorf("sign in: %w", &auth.ThrottleError{RetryAfter: 4 * time.Second}), "Too many failed sign-ins: try again in 4 s."},
		{errors.New("disk on fire"), "Something went wrong: disk on fire."},
	}
	for _, tt := range tests {
		if got := errorText(tt.err); got != tt.want {
			t.Errorf("errorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSettingsChanges(t *testing.T) {
	old := LaneSettings{LaneName: "Lane 2", LockTimeout: 5 * time.Minute, Instruments: []InstrumentSetting{{Name: "AR", Profile: "a"}, {Name: "LM", Profile: "l"}}}
	cur := old
	cur.LockTimeout = 2 * time.Minute
	cur.ServerURL = "https://x"
	cur.Instruments = []InstrumentSetting{{Name: "AR", Profile: "a2"}, {Name: "PH", Profile: "p"}}
	want := []string{"lock timeout 5m0s → 2m0s", "server URL", "instrument changed: AR", "instrument added: PH (p)", "instrument removed: LM"}
	if got := settingsChanges(old, cur); !slices.Equal(got, want) {
		t.Errorf("settingsChanges = %q, want %q", got, want)
	}
	if got := settingsChanges(old, old); len(got) != 0 {
		t.Errorf("no change gave %q", got)
	}
}

func TestMergeVersions(t *testing.T) {
	mine := map[string]json.RawMessage{"a": json.RawMessage(`1`), "b": json.RawMessage(`"m"`), "only": json.RawMessage(`true`)}
	theirs := map[string]json.RawMessage{"a": json.RawMessage(`2`), "b": json.RawMessage(`"t"`), "gone": json.RawMessage(`3`)}
	got, err := mergeVersions(mine, theirs, map[string]bool{"a": true, "b": false, "gone": true, "only": true})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"a":1,"b":"t","only":true}` {
		t.Errorf("merged %s", got)
	}
}

func TestCheckFormatting(t *testing.T) {
	tests := []struct {
		p      lane.CheckParameter
		v      lane.Millionths
		signed bool
		want   string
	}{
		{lane.CheckSphere, 1250000, false, "+1.25 D"},
		{lane.CheckSphere, -142500, true, "-0.1425 D"},
		{lane.CheckCylinder, 0, true, "0.00 D"},
		{lane.CheckAxis, 3000000, true, "+3°"},
		{lane.CheckAxis, 180000000, false, "180°"},
		{lane.CheckPrismH, 670000, false, "0.67 Δ"},
	}
	for _, tt := range tests {
		if got := checkValue(tt.p, tt.v, tt.signed); got != tt.want {
			t.Errorf("checkValue(%s, %d, %v) = %q, want %q", tt.p, tt.v, tt.signed, got, tt.want)
		}
	}
	if got := checkTolerance(lane.VerifyCheck{Parameter: lane.CheckAxis}); got != "none" {
		t.Errorf("axis without tolerance: %q", got)
	}
}

func TestGroupReadings(t *testing.T) {
	r := func(id string, capture lane.CaptureID, eye lane.Eye, rep, pending bool, at time.Time) lane.Measurement {
		return lane.Measurement{ID: lane.MeasurementID(id), CaptureID: capture, Kind: lane.KindRefraction, Source: lane.SourceAutorefraction,
			Eye: eye, Representative: rep, Pending: pending, ReceivedAt: at}
	}
	t1, t2 := today, today.Add(time.Minute)
	gs := groupReadings([]lane.Measurement{
		r("old-accepted", "c0", lane.EyeRight, true, false, t1.Add(-time.Hour)),
		r("r1", "c1", lane.EyeRight, false, true, t1),
		r("r2", "c1", lane.EyeRight, true, true, t1),
		r("r3", "c1", lane.EyeRight, false, true, t1),
		r("l1", "c2", lane.EyeLeft, true, true, t2),
		r("new-accepted", "c3", lane.EyeLeft, true, false, t2),
	})
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s/%d", g.shown.ID, len(g.all)))
	}
	want := []string{"r2/3", "l1/1", "new-accepted/1", "old-accepted/1"}
	if !slices.Equal(got, want) {
		t.Errorf("groups = %q, want %q", got, want)
	}
}

func TestAgeText(t *testing.T) {
	on := lane.Date{Year: 2026, Month: 11, Day: 23}
	tests := []struct {
		born lane.Date
		want string
	}{
		{lane.Date{Year: 1980, Month: 11, Day: 23}, "46 y"},
		{lane.Date{Year: 1980, Month: 11, Day: 24}, "45 y"},
		{lane.Date{Year: 2025, Month: 5, Day: 30}, "17 mo"},
		{lane.Date{Year: 2026, Month: 11, Day: 1}, "0 mo"},
		{lane.Date{}, ""},
	}
	for _, tt := range tests {
		if got := ageText(tt.born, on); got != tt.want {
			t.Errorf("ageText(%v) = %q, want %q", tt.born, got, tt.want)
		}
	}
}
