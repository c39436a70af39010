package uitest

import (
	"context"
	"fmt"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/ui"
)

// Now is the practice's clock at the start of every test: Monday
// 23 November 2026, 10:00 UTC.
var Now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// The practice's staff. Every account's password is Password and its
// authenticator code Code.
var (
	Technician  = User{ID: "u-tech", Login: "tina", Display: "Tina Tech", Roles: []lane.Role{lane.RoleTechnician}}
	Optometrist = User{ID: "u-opt", Login: "omar", Display: "Dr Omar Optom", Roles: []lane.Role{lane.RoleOptometrist}}
	Optician    = User{ID: "u-optician", Login: "olga", Display: "Olga Optician", Roles: []lane.Role{lane.RoleOptician}}
	Admin       = User{ID: "u-admin", Login: "adam", Display: "Adam Admin", Roles: []lane.Role{lane.RoleAdmin}}
)

// Credentials of every seeded account.
const (
	Password = "correct horse battery staple"
	Code     = "123456"
)

// Instrument profiles of the seeded lane.
const (
	ProfileAR = "sim-autorefractor"
	ProfileLM = "sim-lensmeter"
	ProfilePH = "sim-phoropter"
)

// Practice is a small synthetic practice: four patients booked today at
// the lane's location at different points of their visit, one patient not
// booked (for break-glass), a previous visit with readings and a signed
// Rx, staff in every clinical role and an administrator, three simulated
// instruments, a sync view and settings. Every name is invented and every
// MRN starts with "DEMO-".
type Practice struct {
	Clock       *lanetest.ManualClock
	Store       *lanetest.Store
	Service     *lane.Service
	Auth        *Auth
	Sync        *Sync
	Instruments *Instruments
	Settings    *Settings

	// Patients.
	Ada, Ben, Cleo, Dan, Eve lane.Patient
	// Encounters of today's visits, by patient.
	Visit map[lane.PatientID]lane.Encounter
	// Appointments of today, by patient.
	Appt map[lane.PatientID]lane.Appointment
	// CleoRx is Cleo's signed progressive prescription of today.
	CleoRx lane.SpectacleRx
}

// TB is the part of testing.TB the seed needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// seedError carries a failed write out of the seed, to be reported with
// t.Fatalf by NewPractice.
type seedError struct{ err error }

// must returns v, or stops the seed when err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		panic(seedError{err})
	}
	return v
}

// NewPractice seeds a practice. Nobody is signed in.
func NewPractice(t TB) *Practice {
	t.Helper()
	ctx := context.Background()
	clock := lanetest.NewManualClock(Now)
	st := lanetest.NewStore(clock)
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(seedError); ok {
				t.Fatalf("seed: %v", e.err)
			}
			panic(r)
		}
	}()
	by := lane.Actor{User: "seed", Roles: []lane.Role{lane.RoleAdmin}, Lane: "Lane 2"}
	p := &Practice{Clock: clock, Store: st, Visit: map[lane.PatientID]lane.Encounter{}, Appt: map[lane.PatientID]lane.Appointment{}}

	patient := func(id, mrn, given, family string, born lane.Date, sex lane.Sex, alerts ...string) lane.Patient {
		return must(st.SavePatient(ctx, by, lane.Patient{ID: lane.PatientID(id), MRN: mrn,
			Name: lane.Name{Given: []string{given}, Family: family}, BirthDate: born, Sex: sex, Alerts: alerts,
			Phone: "555-0100"}))
	}
	p.Ada = patient("pat-ada", "DEMO-1001", "Ada", "Testperson", lane.Date{Year: 1980, Month: 5, Day: 1}, lane.SexFemale,
		"Allergy: proparacaine drops (synthetic)")
	p.Ben = patient("pat-ben", "DEMO-1002", "Ben", "Sample", lane.Date{Year: 1990, Month: 1, Day: 2}, lane.SexMale)
	p.Cleo = patient("pat-cleo", "DEMO-1003", "Cleo", "Example", lane.Date{Year: 1961, Month: 7, Day: 15}, lane.SexFemale)
	p.Dan = patient("pat-dan", "DEMO-1004", "Dan", "Placeholder", lane.Date{Year: 2016, Month: 3, Day: 10}, lane.SexMale)
	p.Eve = patient("pat-eve", "DEMO-1005", "Eve", "Offschedule", lane.Date{Year: 1975, Month: 9, Day: 9}, lane.SexFemale)

	day := Now.Truncate(24 * time.Hour)
	visit := func(pt lane.Patient, at time.Duration, appt lane.AppointmentStatus, enc lane.EncounterStatus, with lane.UserID, reason string) {
		start := day.Add(at)
		a := must(st.SaveAppointment(ctx, by, lane.Appointment{ID: lane.AppointmentID("appt-" + pt.ID[4:]), PatientID: pt.ID,
			Start: start, End: start.Add(30 * time.Minute), Location: "loc-1", Lane: "Lane 2", Provider: Optometrist.ID,
			Reason: reason, Status: appt, With: with}))
		e := must(st.SaveEncounter(ctx, by, lane.Encounter{ID: lane.EncounterID("enc-" + pt.ID[4:]), PatientID: pt.ID,
			AppointmentID: a.ID, Status: enc, Start: start, Location: "loc-1", Lane: "Lane 2"}))
		p.Appt[pt.ID], p.Visit[pt.ID] = a, e
	}
	visit(p.Ada, 9*time.Hour, lane.ApptArrived, lane.EncCheckedIn, "", "Routine eye exam")
	visit(p.Ben, 9*time.Hour+30*time.Minute, lane.ApptReadyForDoctor, lane.EncPretest, "", "Blurred distance vision")
	visit(p.Cleo, 10*time.Hour, lane.ApptDispensing, lane.EncDispensing, Optician.ID, "Collect new glasses")
	visit(p.Dan, 10*time.Hour+30*time.Minute, lane.ApptBooked, lane.EncScheduled, "", "Child's first exam")

	// Ada's previous visit, a year ago: readings and a signed Rx.
	prevAt := time.Date(2025, 11, 20, 9, 15, 0, 0, time.UTC)
	prev := must(st.SaveEncounter(ctx, by, lane.Encounter{ID: "enc-ada-2025", PatientID: p.Ada.ID, Status: lane.EncDone,
		Start: prevAt, Location: "loc-1", Clinician: Optometrist.ID, SignedBy: Optometrist.ID, SignedAt: prevAt.Add(time.Hour)}))
	reading := func(pt lane.PatientID, enc lane.EncounterID, at time.Time, m lane.Measurement) lane.Measurement {
		m.ID = lane.MeasurementID(fmt.Sprintf("m-%s-%s-%s-%s-%d", pt[4:], enc, m.Kind, m.Source, m.Eye))
		m.PatientID, m.EncounterID, m.ReceivedAt, m.Representative = pt, enc, at, true
		return must(st.SaveMeasurement(ctx, by, m))
	}
	rx := func(sph, cyl float64, axis int) *lane.Refraction {
		r := lane.Refraction{Sphere: lane.MustDiopters(sph), Cylinder: lane.MustDiopters(cyl)}
		if r.Cylinder != 0 {
			r.Axis = lane.Axis(axis)
		}
		return &r
	}
	ar := lane.InstrumentRef{Vendor: "Simulated", Model: "AR-1", Profile: ProfileAR}
	for _, x := range []struct {
		eye lane.Eye
		r   *lane.Refraction
		iop float64
		va  string
	}{{lane.EyeRight, rx(-2.00, -0.50, 180), 15, "6/6"}, {lane.EyeLeft, rx(-1.75, -0.25, 170), 16, "6/7.5"}} {
		reading(p.Ada.ID, prev.ID, prevAt, lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceAutorefraction, Eye: x.eye, Refraction: x.r, Instrument: ar})
		reading(p.Ada.ID, prev.ID, prevAt.Add(30*time.Minute), lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceSubjective, Eye: x.eye, Refraction: x.r})
		pressure, _ := lane.NewMmHg(x.iop)
		reading(p.Ada.ID, prev.ID, prevAt.Add(5*time.Minute), lane.Measurement{Kind: lane.KindIOP, Source: lane.SourceManual, Eye: x.eye, IOP: &lane.IOP{Pressure: pressure, Method: lane.IOPGoldmann}})
		va, err := lane.ParseVA(x.va, lane.VADecimal)
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
		va.Aided, va.Distance = true, lane.DistanceFar
		reading(p.Ada.ID, prev.ID, prevAt.Add(35*time.Minute), lane.Measurement{Kind: lane.KindVA, Source: lane.SourceSubjective, Eye: x.eye, VA: &va})
	}
	must(st.SaveSpectacleRx(ctx, by, lane.SpectacleRx{ID: "rx-ada-2025", PatientID: p.Ada.ID, EncounterID: prev.ID,
		Right: *rx(-2.00, -0.50, 180), Left: *rx(-1.75, -0.25, 170), PD: 6300, Lens: lane.LensSingleVision,
		Issued: lane.DateOf(prevAt), Expires: lane.Date{Year: 2027, Month: 11, Day: 20}, Prescriber: Optometrist.ID, SignedAt: prevAt.Add(time.Hour)}))

	// Ben had his pretest this morning.
	benAt := day.Add(9*time.Hour + 40*time.Minute)
	lm := lane.InstrumentRef{Vendor: "Simulated", Model: "LM-1", Profile: ProfileLM}
	reading(p.Ben.ID, p.Visit[p.Ben.ID].ID, benAt, lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceAutorefraction, Eye: lane.EyeRight, Refraction: rx(-3.12, -0.87, 175), Instrument: ar, RecordedBy: Technician.ID})
	reading(p.Ben.ID, p.Visit[p.Ben.ID].ID, benAt, lane.Measurement{Kind: lane.KindRefraction, Source: lane.SourceAutorefraction, Eye: lane.EyeLeft, Refraction: rx(-2.87, -0.62, 5), Instrument: ar, RecordedBy: Technician.ID})
	reading(p.Ben.ID, p.Visit[p.Ben.ID].ID, benAt.Add(5*time.Minute), lane.Measurement{Kind: lane.KindLensometry, Source: lane.SourceLensometry, Eye: lane.EyeRight, Refraction: rx(-2.50, -0.75, 175), Instrument: lm, RecordedBy: Technician.ID})
	reading(p.Ben.ID, p.Visit[p.Ben.ID].ID, benAt.Add(5*time.Minute), lane.Measurement{Kind: lane.KindLensometry, Source: lane.SourceLensometry, Eye: lane.EyeLeft, Refraction: rx(-2.25, -0.50, 5), Instrument: lm, RecordedBy: Technician.ID})

	// Cleo's exam is signed, with a progressive Rx.
	cleoEnc := p.Visit[p.Cleo.ID]
	cleoEnc.SignedBy, cleoEnc.SignedAt, cleoEnc.Clinician = Optometrist.ID, day.Add(8*time.Hour+50*time.Minute), Optometrist.ID
	p.Visit[p.Cleo.ID] = must(st.SaveEncounter(ctx, by, cleoEnc))
	right, left := rx(+1.25, -0.50, 90), rx(+1.50, -0.75, 85)
	right.Add, left.Add = lane.MustDiopters(2.25), lane.MustDiopters(2.25)
	p.CleoRx = must(st.SaveSpectacleRx(ctx, by, lane.SpectacleRx{ID: "rx-cleo", PatientID: p.Cleo.ID, EncounterID: cleoEnc.ID,
		Right: *right, Left: *left, PD: 6250, Lens: lane.LensProgressive, Issued: lane.DateOf(day), Expires: lane.Date{Year: 2028, Month: 11, Day: 23},
		Prescriber: Optometrist.ID, SignedAt: day.Add(8*time.Hour + 55*time.Minute)}))

	p.Service = lane.NewService(lane.Config{Store: st, Clock: clock, Lane: "Lane 2", Location: "loc-1", Device: "lane-2-pc", TimeZone: time.UTC})
	pw := func(u User) User { u.Password, u.Code = Password, Code; return u }
	p.Auth = NewAuth(clock, pw(Technician), pw(Optometrist), pw(Optician), pw(Admin))
	p.Sync = NewSync(lane.SyncStatus{Online: true, LastSuccess: Now.Add(-4 * time.Minute), Queued: 2, Progress: -1})
	p.Instruments = NewInstruments(
		ui.InstrumentInfo{InstrumentState: lane.InstrumentState{Profile: ProfileAR, Name: "Autorefractor", State: "connected", Port: "sim"}, Kind: "autorefractor", CanMeasure: true},
		ui.InstrumentInfo{InstrumentState: lane.InstrumentState{Profile: ProfileLM, Name: "Lensmeter", State: "connected", Port: "sim"}, Kind: "lensmeter", CanMeasure: true},
		ui.InstrumentInfo{InstrumentState: lane.InstrumentState{Profile: ProfilePH, Name: "Phoropter", State: "disconnected", Port: "/dev/ttyUSB1"}, Kind: "phoropter", AcceptsRx: true},
	)
	p.Settings = NewSettings(ui.LaneSettings{
		LaneName: "Lane 2", LockTimeout: 5 * time.Minute, DataDir: "/var/lib/examlane", ServerURL: "https://practice.example:8443",
		Enrolment: "Enrolled with the practice server (synthetic demo)",
		Instruments: []ui.InstrumentSetting{
			{Name: "Autorefractor", Profile: ProfileAR, Port: "sim"},
			{Name: "Lensmeter", Profile: ProfileLM, Port: "sim"},
			{Name: "Phoropter", Profile: ProfilePH, Port: "/dev/ttyUSB1"},
		},
	}, ProfileAR, ProfileLM, ProfilePH, "nidek-ark1", "topcon-cl300")
	return p
}

// SignIn begins a session for u on the practice's service directly, as if
// the lock screen had verified u (for tests that start past sign-in).
func (p *Practice) SignIn(t TB, u User) lane.Session {
	t.Helper()
	now := p.Clock.Now()
	s := lane.Session{User: u.ID, Display: u.Display, Roles: u.Roles, Started: now, Expires: now.Add(12 * time.Hour)}
	if err := p.Service.Begin(context.Background(), s); err != nil {
		t.Fatalf("sign in %s: %v", u.ID, err)
	}
	return s
}

// Autorefraction returns a capture an autorefractor sends: one
// representative reading per eye.
func Autorefraction(right, left lane.Refraction) lane.Capture {
	ref := lane.InstrumentRef{Vendor: "Simulated", Model: "AR-1", Profile: ProfileAR}
	return lane.Capture{Format: "sim-ar", Instrument: ref, Raw: []byte(fmt.Sprintf("AR R %s L %s", lane.FormatRx(right), lane.FormatRx(left))),
		Readings: []lane.Measurement{
			{Kind: lane.KindRefraction, Source: lane.SourceAutorefraction, Eye: lane.EyeRight, Representative: true, Refraction: &right},
			{Kind: lane.KindRefraction, Source: lane.SourceAutorefraction, Eye: lane.EyeLeft, Representative: true, Refraction: &left},
		}}
}

// Lensometry returns a capture a lensmeter sends for a pair of glasses.
func Lensometry(right, left lane.Refraction) lane.Capture {
	ref := lane.InstrumentRef{Vendor: "Simulated", Model: "LM-1", Profile: ProfileLM}
	return lane.Capture{Format: "sim-lm", Instrument: ref, Raw: []byte(fmt.Sprintf("LM R %s L %s", lane.FormatRx(right), lane.FormatRx(left))),
		Readings: []lane.Measurement{
			{Kind: lane.KindLensometry, Source: lane.SourceLensometry, Eye: lane.EyeRight, Representative: true, Refraction: &right},
			{Kind: lane.KindLensometry, Source: lane.SourceLensometry, Eye: lane.EyeLeft, Representative: true, Refraction: &left},
		}}
}

// Rx parses a refraction or stops the test.
func Rx(t TB, s string) lane.Refraction {
	t.Helper()
	r, err := lane.ParseRx(s)
	if err != nil {
		t.Fatalf("rx %q: %v", s, err)
	}
	return r
}
