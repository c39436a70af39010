package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

// This file turns lane values and errors into the words the screens show.

// statusText names an appointment status as the worklist shows it.
func statusText(s lane.AppointmentStatus) string {
	switch s {
	case lane.ApptBooked:
		return "Booked"
	case lane.ApptArrived:
		return "Arrived"
	case lane.ApptPretest:
		return "In pretest"
	case lane.ApptReadyForDoctor:
		return "Ready for doctor"
	case lane.ApptExam:
		return "In exam"
	case lane.ApptDispensing:
		return "Dispensing"
	case lane.ApptDone:
		return "Done"
	case lane.ApptCancelled:
		return "Cancelled"
	case lane.ApptNoShow:
		return "No show"
	}
	return string(s)
}

// ageText returns an age for a list or header: "42 y", or "18 mo" under
// two years; "" when the birth date is unknown.
func ageText(birth lane.Date, today lane.Date) string {
	if birth.IsZero() {
		return ""
	}
	if y := birth.AgeOn(today); y >= 2 {
		return fmt.Sprintf("%d y", y)
	}
	months := (today.Year-birth.Year)*12 + int(today.Month-birth.Month)
	if today.Day < birth.Day {
		months--
	}
	return fmt.Sprintf("%d mo", max(months, 0))
}

// sexText abbreviates an administrative sex.
func sexText(s lane.Sex) string {
	switch s {
	case lane.SexFemale:
		return "F"
	case lane.SexMale:
		return "M"
	case lane.SexOther:
		return "Other"
	}
	return "–"
}

// eyeText names an eye for a row label.
func eyeText(e lane.Eye) string {
	switch e {
	case lane.EyeRight:
		return "R"
	case lane.EyeLeft:
		return "L"
	case lane.EyeBoth:
		return "OU"
	}
	return ""
}

// kindText names a measurement for a row label, e.g. "Autorefraction" or
// "IOP".
func kindText(m lane.Measurement) string {
	switch m.Kind {
	case lane.KindRefraction:
		switch m.Source {
		case lane.SourceAutorefraction:
			return "Autorefraction"
		case lane.SourceSubjective:
			return "Subjective"
		case lane.SourceFinal:
			return "Final"
		case lane.SourceObjective:
			return "Objective"
		case lane.SourceCycloplegic:
			return "Cycloplegic"
		case lane.SourceLensometry:
			return "Lensometry"
		}
		return "Refraction"
	case lane.KindLensometry:
		return "Lensometry"
	case lane.KindKeratometry:
		return "Keratometry"
	case lane.KindIOP:
		return "IOP"
	case lane.KindPachymetry:
		return "Pachymetry"
	case lane.KindPD:
		return "PD"
	case lane.KindVA:
		if m.VA != nil && m.VA.Aided {
			return "VA (aided)"
		}
		return "VA"
	case lane.KindError:
		return "Instrument error"
	}
	return string(m.Kind)
}

// valueText formats a measurement's value with its unit.
func valueText(m lane.Measurement) string {
	switch {
	case m.Refraction != nil:
		return lane.FormatRx(*m.Refraction)
	case m.Keratometry != nil:
		k := m.Keratometry
		return fmt.Sprintf("K1 %s D @ %s  K2 %s D @ %s", k.K1.Power.String(), k.K1.Axis, k.K2.Power.String(), k.K2.Axis)
	case m.IOP != nil:
		return m.IOP.Pressure.String() + " mmHg"
	case m.Pachymetry != nil:
		return fmt.Sprintf("%d µm", m.Pachymetry.CCT)
	case m.PD != nil:
		return m.PD.Value.String() + " mm"
	case m.VA != nil:
		if m.VA.Text != "" {
			return m.VA.Text
		}
		return lane.FormatVA(*m.VA, lane.VASnellenMetric)
	case m.Kind == lane.KindError:
		return m.Message
	}
	return "–"
}

// instrumentText names the instrument a measurement or capture came from,
// "Entered by hand" when none did.
func instrumentText(ref lane.InstrumentRef) string {
	name := strings.TrimSpace(ref.Vendor + " " + ref.Model)
	switch {
	case name != "":
		return name
	case ref.Profile != "":
		return ref.Profile
	}
	return "Entered by hand"
}

// clockText formats a time of day in zone tz, "10:42".
func clockText(t time.Time, tz *time.Location) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(tz).Format("15:04")
}

// dateText formats a day, "2026-11-23".
func dateText(t time.Time, tz *time.Location) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(tz).Format("2006-01-02")
}

// errorText turns an error from the lane into a sentence for a person:
// what went wrong and, where there is one, what to do. Errors never carry
// patient data (a house rule of every package), so their text may be
// shown.
func errorText(err error) string {
	var ne *lane.NotationError
	var te *auth.ThrottleError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ne):
		return "Could not read that: " + ne.Error() + "."
	case errors.Is(err, ErrPINLockedOut):
		return "Too many wrong PINs. Sign in with your password and code."
	case errors.Is(err, ErrNoPIN):
		return "No PIN is set for this shift. Sign in with your password and code."
	case errors.Is(err, auth.ErrOfflineExpired):
		return "Offline sign-in expired: connect to the practice network to sign in."
	case errors.Is(err, auth.ErrAccountLocked):
		return "This account is locked after too many failed sign-ins. Ask an administrator to reset it, or sign in when the practice server is reachable."
	case errors.As(err, &te):
		return capitalize(te.Error()) + "."
	case errors.Is(err, ErrBadCredentials):
		return "Not accepted. Check the user name, password and code, and try again."
	case errors.Is(err, lane.ErrBreakGlassRequired):
		return "This chart is not on today's schedule. Opening it needs a reason (break-glass)."
	case errors.Is(err, lane.ErrLocked):
		return "The lane is locked or your shift session has ended. Sign in again."
	case errors.Is(err, lane.ErrForbidden):
		return "Your role does not allow this."
	case errors.Is(err, lane.ErrImmutable):
		return "This record is signed and cannot change. Add an addendum instead."
	case errors.Is(err, lane.ErrConflict):
		return "Someone changed this record since it was opened. Reopen the chart and try again."
	case errors.Is(err, lane.ErrNotFound):
		return "Not found on this lane."
	case errors.Is(err, lane.ErrUnavailable):
		return "Not reachable right now: " + trimSentinel(err, lane.ErrUnavailable) + "."
	case errors.Is(err, lane.ErrInvalid):
		return capitalize(trimSentinel(err, lane.ErrInvalid)) + "."
	}
	return "Something went wrong: " + err.Error() + "."
}

// trimSentinel removes ": <sentinel>" from an error's text.
func trimSentinel(err, sentinel error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, ": "+sentinel.Error(), "")
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// plainError is an error whose text is shown as is.
type plainError string

func (e plainError) Error() string { return string(e) }
