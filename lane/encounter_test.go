package lane_test

import (
	"errors"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

func TestEncounterStatusCanAdvance(t *testing.T) {
	tests := []struct {
		from, to lane.EncounterStatus
		want     bool
	}{
		{lane.EncScheduled, lane.EncCheckedIn, true},
		{lane.EncCheckedIn, lane.EncPretest, true},
		{lane.EncPretest, lane.EncExam, true},
		{lane.EncExam, lane.EncDispensing, true},
		{lane.EncDispensing, lane.EncDone, true},
		{lane.EncCheckedIn, lane.EncExam, true}, // pretest skipped
		{lane.EncExam, lane.EncDone, true},      // no glasses ordered
		{lane.EncExam, lane.EncPretest, false},  // never backwards
		{lane.EncDone, lane.EncDone, false},
		{lane.EncPretest, "bogus", false},
		{"bogus", lane.EncDone, false},
	}
	for _, tt := range tests {
		if got := tt.from.CanAdvance(tt.to); got != tt.want {
			t.Errorf("%s.CanAdvance(%s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestSignedEncounterIsImmutable(t *testing.T) {
	signed := lane.Encounter{ID: "e1", PatientID: "p1", Status: lane.EncExam, Assessment: "stable",
		SignedBy: "dr", SignedAt: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), Version: 3}
	tests := []struct {
		name    string
		edit    func(e *lane.Encounter)
		wantErr bool
	}{
		{"status only", func(e *lane.Encounter) { e.Status = lane.EncDone }, false},
		{"addendum", func(e *lane.Encounter) { e.Addenda = append(e.Addenda, lane.Addendum{Author: "dr", Text: "x"}) }, false},
		{"version bookkeeping", func(e *lane.Encounter) { e.Version = 4; e.Updated = time.Now() }, false},
		{"assessment", func(e *lane.Encounter) { e.Assessment = "changed" }, true},
		{"plan", func(e *lane.Encounter) { e.Plan = "new" }, true},
		{"unsign", func(e *lane.Encounter) { e.SignedBy = "" }, true},
		{"re-time signature", func(e *lane.Encounter) { e.SignedAt = e.SignedAt.Add(time.Hour) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := signed
			tt.edit(&next)
			err := signed.CheckEdit(next)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckEdit = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, lane.ErrImmutable) {
				t.Fatalf("CheckEdit error %v does not wrap ErrImmutable", err)
			}
		})
	}
	// Removing an addendum is refused.
	withAdd := signed
	withAdd.Addenda = []lane.Addendum{{Author: "dr", Text: "a"}}
	if err := withAdd.CheckEdit(signed); !errors.Is(err, lane.ErrImmutable) {
		t.Fatalf("removing addendum: %v", err)
	}
	// The same instants read back in another zone or without the monotonic
	// reading (as from a database) are not a change.
	roundTrip := signed
	roundTrip.SignedAt = signed.SignedAt.In(time.FixedZone("X", 3600)).Round(0)
	roundTrip.Start = time.Now()
	signed.Start = roundTrip.Start.Round(0).UTC()
	if err := signed.CheckEdit(roundTrip); err != nil {
		t.Fatalf("same instants in another zone refused: %v", err)
	}
	// Changing an existing addendum is refused.
	changed := withAdd
	changed.Addenda = []lane.Addendum{{Author: "dr", Text: "b"}}
	if err := withAdd.CheckEdit(changed); !errors.Is(err, lane.ErrImmutable) {
		t.Fatalf("changing addendum: %v", err)
	}
	// An unsigned encounter takes any edit.
	open := signed
	open.SignedBy, open.SignedAt = "", time.Time{}
	edited := open
	edited.Assessment = "anything"
	if err := open.CheckEdit(edited); err != nil {
		t.Fatalf("unsigned edit refused: %v", err)
	}
}

func TestDateAge(t *testing.T) {
	born := lane.Date{Year: 1980, Month: time.March, Day: 15}
	tests := []struct {
		on   lane.Date
		want int
	}{
		{lane.Date{Year: 2026, Month: time.March, Day: 14}, 45},
		{lane.Date{Year: 2026, Month: time.March, Day: 15}, 46},
		{lane.Date{Year: 2026, Month: time.December, Day: 1}, 46},
	}
	for _, tt := range tests {
		if got := born.AgeOn(tt.on); got != tt.want {
			t.Errorf("AgeOn(%v) = %d, want %d", tt.on, got, tt.want)
		}
	}
	d, err := lane.ParseDate("2001-02-03")
	if err != nil || d.String() != "2001-02-03" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if _, err := lane.ParseDate("03/02/2001"); err == nil {
		t.Fatal("ParseDate accepted a non-ISO date")
	}
}
