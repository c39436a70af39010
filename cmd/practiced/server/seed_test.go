package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// countType counts live resources of a type in a tenant.
func countType(t testing.TB, s *Server, tenant, typ string) int {
	t.Helper()
	var n int
	if err := s.db.r.QueryRow(`SELECT count(*) FROM resources WHERE tenant=? AND type=? AND deleted=0`, tenant, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// bodies returns the current JSON of every live resource of a type.
func bodies(t testing.TB, s *Server, tenant, typ string) [][]byte {
	t.Helper()
	rows, err := s.db.r.Query(`SELECT h.body FROM resources r JOIN resource_history h ON h.seq=r.seq WHERE r.tenant=? AND r.type=? AND r.deleted=0 ORDER BY r.seq`, tenant, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestSeedDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the full demo seed takes seconds")
	}
	e := newEnv(t)
	ctx := context.Background()
	// 14:00 local: part of today's schedule is done, part to come.
	now := e.clock.Now()
	e.clock.Advance(time.Date(now.Year(), now.Month(), now.Day(), 14, 0, 0, 0, time.UTC).Sub(now))
	start := time.Now()
	rep, err := e.srv.Seed(ctx, "alpha", SeedOptions{ImageWidth: 160, ImageHeight: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %v: %+v", time.Since(start).Round(time.Millisecond), rep)
	if rep.Patients != 200 || rep.Appointments != 60 || rep.Locations != 2 || len(rep.Lanes) != 5 {
		t.Errorf("report %+v", rep)
	}
	for _, r := range lane.Roles {
		if rep.Staff[r] == 0 {
			t.Errorf("no staff with role %s", r)
		}
	}
	if rep.DICOMInstances != 30 || rep.ImagingStudies != 30 || rep.Photos != 30 {
		t.Errorf("images: %d instances, %d studies, %d photos; want 30 each", rep.DICOMInstances, rep.ImagingStudies, rep.Photos)
	}
	for typ, want := range map[string]int{
		"Patient": 200, "Appointment": 60, "Encounter": rep.Encounters, "Observation": rep.Observations,
		"VisionPrescription": rep.Prescriptions, "ImagingStudy": 30, "DocumentReference": 30, "Binary": 30,
		"Practitioner": len(staffPlan), "Location": 3, // the tenant's own plus two demo sites
	} {
		if got := countType(t, e.srv, "alpha", typ); got != want {
			t.Errorf("%s: %d, want %d", typ, got, want)
		}
	}
	if rep.Encounters < 200 || rep.Encounters > 200*10 || rep.Observations != rep.Encounters*13 || rep.Prescriptions != rep.Encounters {
		t.Errorf("history: %d encounters, %d observations, %d prescriptions", rep.Encounters, rep.Observations, rep.Prescriptions)
	}
	// Every patient is marked synthetic and has 1–10 years of history.
	m := fhir.Mapper{}
	for _, b := range bodies(t, e.srv, "alpha", "Patient") {
		if !strings.Contains(string(b), `"value":"DEMO-`) || !strings.Contains(string(b), `"HTEST"`) || !strings.Contains(string(b), sysSynthetic) {
			t.Fatalf("patient not marked synthetic: %.200s", b)
		}
	}
	var first, last sql.NullInt64
	if err := e.srv.db.r.QueryRow(`SELECT min(date), max(date) FROM resources WHERE tenant='alpha' AND type='Encounter'`).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	span := time.UnixMilli(last.Int64).Sub(time.UnixMilli(first.Int64))
	if span < 8*365*24*time.Hour || span > 11*365*24*time.Hour {
		t.Errorf("history spans %v", span)
	}
	// Today's schedule: 60 appointments today, statuses relative to 14:00.
	today := e.clock.Now().Format("2006-01-02")
	a := e.enrol(t, "alpha")
	_, sched := a.must(200, "GET", "/fhir/R4/Appointment?date="+today+"&_count=500", nil)
	if sched["total"].(float64) != 60 {
		t.Errorf("today's appointments: %v", sched["total"])
	}
	statuses := map[string]int{}
	for _, en := range entries(sched) {
		statuses[en["resource"].(map[string]any)["status"].(string)]++
	}
	if statuses["booked"] == 0 || statuses["fulfilled"] == 0 {
		t.Errorf("statuses %v", statuses)
	}

	// The client's mapping reads every seeded record.
	kinds := map[lane.Kind]int{}
	sources := map[lane.Source]int{}
	for _, typ := range []string{"Patient", "Appointment", "Encounter", "Observation", "VisionPrescription", "DocumentReference", "ImagingStudy"} {
		for _, b := range bodies(t, e.srv, "alpha", typ) {
			res, err := fhir.Decode(b)
			if err != nil {
				t.Fatalf("%s: decode: %v", typ, err)
			}
			rec, err := m.FromFHIR(res)
			if err != nil {
				t.Fatalf("%s: client mapping: %v\n%.400s", typ, err, b)
			}
			switch r := rec.(type) {
			case lane.Measurement:
				kinds[r.Kind]++
				sources[r.Source]++
				checkMeasurement(t, r)
			case lane.SpectacleRx:
				if r.Right.Sphere%250 != 0 || r.Prescriber == "" || r.SignedAt.IsZero() || r.PD == 0 {
					t.Fatalf("prescription %+v", r)
				}
			case lane.Patient:
				if !strings.HasPrefix(r.MRN, demoMRNPrefix) || r.Validate() != nil {
					t.Fatalf("patient %+v", r)
				}
			case lane.Appointment:
				if r.Lane == "" || r.Location == "" || r.PatientID == "" || r.Provider == "" {
					t.Fatalf("appointment %+v", r)
				}
			case lane.Image:
				if r.Eye == lane.EyeUnknown || r.Kind != lane.ImageColor {
					t.Fatalf("image %+v", r)
				}
			}
		}
	}
	for _, k := range []lane.Kind{lane.KindRefraction, lane.KindKeratometry, lane.KindIOP, lane.KindVA, lane.KindPD} {
		if kinds[k] == 0 {
			t.Errorf("no %s measurements mapped", k)
		}
	}
	if sources[lane.SourceSubjective] == 0 || sources[lane.SourceAutorefraction] == 0 {
		t.Errorf("sources %v", sources)
	}
	// Staff: the client reads roles from PractitionerRole.
	users, err := e.srv.Users(ctx, "alpha")
	users = slices.DeleteFunc(users, func(u User) bool { return u.ID == testUser }) // enrol's test account
	if err != nil || len(users) != len(staffPlan) {
		t.Fatalf("users %d %v", len(users), err)
	}
	// Seeding twice is refused.
	if _, err := e.srv.Seed(ctx, "alpha", SeedOptions{Patients: 1}); !errors.Is(err, errExists) {
		t.Errorf("second seed: %v", err)
	}
	// DICOM: every stored instance parses and renders.
	rows, err := e.srv.db.r.Query(`SELECT data FROM dicom_instances WHERE tenant='alpha'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d []byte
		rows.Scan(&d)
		if _, err := renderJPEG(d); err != nil {
			t.Fatalf("seeded instance does not render: %v", err)
		}
	}
}

// checkMeasurement checks that seeded values are clinically plausible.
func checkMeasurement(t *testing.T, ms lane.Measurement) {
	t.Helper()
	switch ms.Kind {
	case lane.KindRefraction:
		r := ms.Refraction
		if r.Sphere%250 != 0 || r.Cylinder > 0 || r.Cylinder < -3*lane.Diopter || r.Sphere < -15*lane.Diopter || r.Sphere > 8*lane.Diopter ||
			(r.Cylinder != 0 && (r.Axis < 1 || r.Axis > 180)) || r.Add < 0 || r.Add > 3*lane.Diopter {
			t.Fatalf("implausible refraction %+v", *r)
		}
	case lane.KindKeratometry:
		k := ms.Keratometry
		if k.K1.Power < 40*lane.Diopter || k.K2.Power > 50*lane.Diopter || k.K2.Power < k.K1.Power || k.K1.Radius < 650 || k.K1.Radius > 850 ||
			lane.AxisDifference(k.K1.Axis, k.K2.Axis) != 90 {
			t.Fatalf("implausible keratometry %+v", *k)
		}
	case lane.KindIOP:
		if p := ms.IOP.Pressure.Float(); p < 6 || p > 40 {
			t.Fatalf("implausible IOP %v", p)
		}
	case lane.KindVA:
		if ms.VA.Decimal < 0.05 || ms.VA.Decimal > 1.5 || ms.VA.Text == "" {
			t.Fatalf("implausible VA %+v", *ms.VA)
		}
	case lane.KindPD:
		if v := ms.PD.Value.Float(); v < 45 || v > 75 || ms.Eye != lane.EyeBoth {
			t.Fatalf("implausible PD %v", v)
		}
	}
	if ms.PatientID == "" || ms.EncounterID == "" || ms.Eye == lane.EyeUnknown || ms.DeviceTime.IsZero() {
		t.Fatalf("measurement without context %+v", ms)
	}
}

// TestSeedDrift checks that a myopic child's refraction becomes more
// minus visit after visit, as the seed promises.
func TestSeedDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	e := eyeState{se: -2, cyl: -0.5, axis: 180}
	prev := e.se
	for y := 1; y <= 6; y++ {
		got := drift(e, float64(y), 8, false, r)
		if got.se > prev+0.3 { // noise is ±0.1 D
			t.Errorf("year %d: %.2f after %.2f", y, got.se, prev)
		}
		prev = got.se
	}
	if prev > -3.0 {
		t.Errorf("after 6 years a myopic 8-year-old is at %.2f D", prev)
	}
	old := drift(eyeState{se: 0.5}, 10, 55, false, r)
	if old.se < 0.9 {
		t.Errorf("no hyperopic shift with age: %.2f", old.se)
	}
}

// TestSeedScheduleAtAnyHour: the demo day is placed around the server's
// current time, so a demo started late in the day still has patients to
// see (regression: the day always began at 08:30, and by evening every
// appointment was done); every appointment stays on today's date.
func TestSeedScheduleAtAnyHour(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a practice per hour")
	}
	for _, hh := range []int{9, 14, 18, 21} {
		t.Run(fmt.Sprintf("%02d:30", hh), func(t *testing.T) {
			e := newEnv(t)
			now := e.clock.Now()
			e.clock.Advance(time.Date(now.Year(), now.Month(), now.Day(), hh, 30, 0, 0, time.UTC).Sub(now))
			if _, err := e.srv.Seed(context.Background(), "alpha", SeedOptions{Patients: 70, ImagePatients: 1, ImageWidth: 64, ImageHeight: 48}); err != nil {
				t.Fatal(err)
			}
			// Read the store directly: the fake clock may run ahead of the
			// real one, which TLS certificate checks use.
			today := e.clock.Now().Format("2006-01-02")
			statuses := map[string]int{}
			n := 0
			for _, b := range bodies(t, e.srv, "alpha", "Appointment") {
				var ap struct {
					Status string `json:"status"`
					Start  string `json:"start"`
				}
				if err := json.Unmarshal(b, &ap); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(ap.Start, today) {
					t.Errorf("appointment at %s is not today (%s)", ap.Start, today)
				}
				statuses[ap.Status]++
				n++
			}
			if n != 60 {
				t.Fatalf("%d appointments, want 60", n)
			}
			if statuses["booked"]+statuses["arrived"] == 0 || statuses["fulfilled"]+statuses["checked-in"] == 0 {
				t.Errorf("at %02d:30 the schedule has nothing to come or nothing seen: %v", hh, statuses)
			}
		})
	}
}
