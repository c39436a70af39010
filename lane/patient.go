package lane

import (
	"fmt"
	"strings"
	"time"
)

// PatientID identifies a patient within a practice (tenant).
type PatientID string

// Sex is administrative sex as FHIR records it.
type Sex string

// Administrative sexes.
const (
	SexFemale  Sex = "female"
	SexMale    Sex = "male"
	SexOther   Sex = "other"
	SexUnknown Sex = "unknown"
)

// Date is a calendar date without a time zone (a birth date, an expiry).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses an ISO date "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String formats the date as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// AgeOn returns the age in whole years on the given day.
func (d Date) AgeOn(on Date) int {
	age := on.Year - d.Year
	if on.Month < d.Month || (on.Month == d.Month && on.Day < d.Day) {
		age--
	}
	return age
}

// Name is a person's name.
type Name struct {
	Family string
	Given  []string
	Prefix string
}

// String returns "Given Family".
func (n Name) String() string {
	return strings.TrimSpace(strings.Join(append(append([]string{}, n.Given...), n.Family), " "))
}

// Address is a postal address.
type Address struct {
	Lines      []string
	City       string
	State      string
	PostalCode string
	Country    string
}

// Patient is a person whose eyes the practice looks after. Every field but
// ID, Version and the timestamps is patient data and is sealed at rest.
type Patient struct {
	ID        PatientID
	MRN       string // the practice's medical record number
	Name      Name
	BirthDate Date
	Sex       Sex
	Phone     string
	Email     string
	Address   Address
	// Alerts are clinical or administrative warnings shown in the chart
	// header (allergies to drops, "hard of hearing", ...).
	Alerts []string
	Note   string

	Version int64
	Updated time.Time
	Deleted bool
}

// Validate reports the first missing or malformed required field.
func (p Patient) Validate() error {
	switch {
	case p.ID == "":
		return invalid("patient: missing id")
	case strings.TrimSpace(p.Name.Family) == "":
		return invalid("patient: missing family name")
	case p.BirthDate.IsZero():
		return invalid("patient: missing birth date")
	}
	return nil
}
