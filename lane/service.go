package lane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Config configures a Service.
type Config struct {
	Store Store
	Clock Clock
	// Lane is this lane's name, Location its site id, Device its device
	// identity (sent with synced changes as Provenance).
	Lane     string
	Location string
	Device   string
	// BreakGlassFor is how long break-glass access to one chart lasts
	// (default 30 minutes).
	BreakGlassFor time.Duration
	// TimeZone is the practice's zone for "today" (default time.Local).
	TimeZone *time.Location
}

// Session is a signed-in user's shift on this lane. The sign-in layer
// verifies credentials and then hands the session to the Service.
type Session struct {
	User    UserID
	Display string // the name shown on screen (staff, not patient, data)
	Roles   []Role
	Started time.Time
	Expires time.Time
}

// ErrBreakGlassRequired is returned (wrapping ErrForbidden) when a chart is
// outside the user's normal scope (not on today's schedule at this
// location); BreakGlass with a typed reason opens it for a limited time.
var ErrBreakGlassRequired = fmt.Errorf("chart outside today's schedule: break-glass with a reason required: %w", ErrForbidden)

// Service is the lane's use-case layer: every screen goes through it, and it
// enforces roles, chart scope, signing rules and the lock, and writes audit
// events for accesses (changes are audited by the Store in the same
// transaction). Service is safe for concurrent use.
type Service struct {
	cfg Config
	bus Bus

	mu         sync.Mutex
	session    *Session                // guarded by mu; nil when signed out
	locked     bool                    // guarded by mu
	breakGlass map[PatientID]time.Time // guarded by mu: expiry per chart
	active     PatientID               // guarded by mu: the open chart
	activeEnc  EncounterID             // guarded by mu
}

// NewService returns a Service with no one signed in.
func NewService(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.BreakGlassFor <= 0 {
		cfg.BreakGlassFor = 30 * time.Minute
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.Local
	}
	return &Service{cfg: cfg, breakGlass: map[PatientID]time.Time{}}
}

// Subscribe returns a subscription to the lane's events.
func (s *Service) Subscribe(buffer int) *Subscription { return s.bus.Subscribe(buffer) }

// Publish sends an event to subscribers (used by the wiring for instrument
// and sync state).
func (s *Service) Publish(e Event) { s.bus.Publish(e) }

// Begin starts a session for a user whose credentials the sign-in layer has
// verified. A different user's session is ended first: nothing of it stays
// visible, and the open chart is closed.
func (s *Service) Begin(ctx context.Context, sess Session) error {
	if sess.User == "" || len(sess.Roles) == 0 {
		return Invalidf("session: missing user or roles")
	}
	s.mu.Lock()
	prev := s.session
	s.session = &sess
	s.locked = false
	if prev == nil || prev.User != sess.User {
		s.active, s.activeEnc = "", ""
		s.breakGlass = map[PatientID]time.Time{}
	}
	s.mu.Unlock()
	s.bus.Publish(LockChanged{Locked: false, User: sess.User})
	return s.audit(ctx, s.actorFor(sess), AuditEvent{Action: AuditSignIn, Outcome: OutcomeSuccess})
}

// End signs the user out and closes the chart.
func (s *Service) End(ctx context.Context) error {
	s.mu.Lock()
	sess := s.session
	s.session, s.locked, s.active, s.activeEnc = nil, false, "", ""
	s.breakGlass = map[PatientID]time.Time{}
	s.mu.Unlock()
	s.bus.Publish(LockChanged{Locked: true})
	if sess == nil {
		return nil
	}
	return s.audit(ctx, s.actorFor(*sess), AuditEvent{Action: AuditSignOut, Outcome: OutcomeSuccess})
}

// Lock locks the lane: screens must hide all patient data. Background
// capture and sync continue. reason is "idle" or "manual" (no patient data).
func (s *Service) Lock(ctx context.Context, reason string) error {
	s.mu.Lock()
	if s.session == nil || s.locked {
		s.mu.Unlock()
		return nil
	}
	s.locked = true
	sess := *s.session
	s.mu.Unlock()
	s.bus.Publish(LockChanged{Locked: true, User: sess.User})
	return s.audit(ctx, s.actorFor(sess), AuditEvent{Action: AuditLock, Outcome: OutcomeSuccess, Detail: reason})
}

// Unlock resumes the locked session of user, whose PIN or password the
// sign-in layer has verified. Another user must Begin instead.
func (s *Service) Unlock(ctx context.Context, user UserID) error {
	s.mu.Lock()
	if s.session == nil || s.session.User != user {
		s.mu.Unlock()
		return fmt.Errorf("unlock: %w: not the locked session's user", ErrForbidden)
	}
	if now := s.cfg.Clock.Now(); !s.session.Expires.IsZero() && now.After(s.session.Expires) {
		s.session = nil
		s.mu.Unlock()
		return fmt.Errorf("unlock: shift session expired: %w", ErrLocked)
	}
	s.locked = false
	sess := *s.session
	s.mu.Unlock()
	s.bus.Publish(LockChanged{Locked: false, User: user})
	return s.audit(ctx, s.actorFor(sess), AuditEvent{Action: AuditUnlock, Outcome: OutcomeSuccess})
}

// Locked reports whether the lane is locked or nobody is signed in.
func (s *Service) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session == nil || s.locked
}

// Current returns the session, false when nobody is signed in.
func (s *Service) Current() (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session == nil {
		return Session{}, false
	}
	return *s.session, true
}

// Can reports whether the signed-in, unlocked user holds p.
func (s *Service) Can(p Permission) bool {
	_, err := s.check(p)
	return err == nil
}

func (s *Service) actorFor(sess Session) Actor {
	return Actor{User: sess.User, Roles: sess.Roles, Lane: s.cfg.Lane, Device: s.cfg.Device}
}

// authorize returns the actor when a session is active and unlocked and its
// roles grant p; a denial is audited (the detail names the permission only).
func (s *Service) authorize(ctx context.Context, p Permission, patient PatientID) (Actor, error) {
	a, err := s.check(p)
	if errors.Is(err, ErrForbidden) {
		_ = s.audit(ctx, a, AuditEvent{Action: AuditView, Outcome: OutcomeDenied, PatientID: patient, Detail: string(p)})
	}
	return a, err
}

// check is authorize without the audit.
func (s *Service) check(p Permission) (Actor, error) {
	s.mu.Lock()
	if s.session == nil || s.locked {
		s.mu.Unlock()
		return Actor{}, ErrLocked
	}
	sess := *s.session
	s.mu.Unlock()
	if now := s.cfg.Clock.Now(); !sess.Expires.IsZero() && now.After(sess.Expires) {
		return Actor{}, fmt.Errorf("shift session expired: %w", ErrLocked)
	}
	a := s.actorFor(sess)
	return a, Check(sess.Roles, p)
}

func (s *Service) audit(ctx context.Context, a Actor, e AuditEvent) error {
	if s.cfg.Store == nil {
		return nil
	}
	e.ID = NewID()
	e.At = s.cfg.Clock.Now()
	e.User, e.Role, e.Lane = a.User, a.PrimaryRole(), a.Lane
	if e.Reason == "" {
		e.Reason = a.Reason
	}
	if err := s.cfg.Store.Audit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// today returns the [start, end) of the practice's current day.
func (s *Service) today() (time.Time, time.Time) {
	now := s.cfg.Clock.Now().In(s.cfg.TimeZone)
	y, m, d := now.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, s.cfg.TimeZone)
	return start, start.AddDate(0, 0, 1)
}

// Worklist returns today's appointments at this lane's location.
func (s *Service) Worklist(ctx context.Context) ([]Appointment, error) {
	if _, err := s.authorize(ctx, PermViewSchedule, ""); err != nil {
		return nil, err
	}
	from, to := s.today()
	return s.cfg.Store.ListAppointments(ctx, AppointmentFilter{From: from, To: to, Location: s.cfg.Location})
}

// inScope reports whether a chart is in the user's normal scope: the patient
// has an appointment today at this location, or break-glass is active.
func (s *Service) inScope(ctx context.Context, id PatientID) (bool, error) {
	s.mu.Lock()
	exp, ok := s.breakGlass[id]
	s.mu.Unlock()
	if ok && s.cfg.Clock.Now().Before(exp) {
		return true, nil
	}
	from, to := s.today()
	appts, err := s.cfg.Store.ListAppointments(ctx, AppointmentFilter{From: from, To: to, Location: s.cfg.Location, PatientID: id})
	if err != nil {
		return false, err
	}
	for _, a := range appts {
		if a.Status != ApptCancelled {
			return true, nil
		}
	}
	return false, nil
}

// BreakGlass opens a chart outside the user's normal scope for
// Config.BreakGlassFor. The reason is required, audited and reported to the
// server for review.
func (s *Service) BreakGlass(ctx context.Context, id PatientID, reason string) error {
	a, err := s.authorize(ctx, PermBreakGlass, id)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) < 10 {
		return Invalidf("break-glass: give a reason of at least 10 characters")
	}
	if _, err := s.cfg.Store.GetPatient(ctx, id); err != nil {
		return fmt.Errorf("break-glass: %w", err)
	}
	s.mu.Lock()
	s.breakGlass[id] = s.cfg.Clock.Now().Add(s.cfg.BreakGlassFor)
	s.mu.Unlock()
	a.Reason = reason
	return s.audit(ctx, a, AuditEvent{Action: AuditBreakGlass, Outcome: OutcomeSuccess, PatientID: id, Entity: "Patient/" + string(id)})
}

// OpenChart loads a chart for the signed-in user, filtered to what the
// user's roles may see, records the access, and makes it the lane's active
// chart (instrument readings go to it).
func (s *Service) OpenChart(ctx context.Context, id PatientID) (Chart, error) {
	a, err := s.authorize(ctx, PermViewDemographics, id)
	if err != nil {
		return Chart{}, err
	}
	ok, err := s.inScope(ctx, id)
	if err != nil {
		return Chart{}, err
	}
	if !ok {
		_ = s.audit(ctx, a, AuditEvent{Action: AuditView, Outcome: OutcomeDenied, PatientID: id, Entity: "Patient/" + string(id), Detail: "out of scope"})
		return Chart{}, ErrBreakGlassRequired
	}
	c, err := s.cfg.Store.Chart(ctx, id)
	if err != nil {
		return Chart{}, err
	}
	c = FilterChart(a.Roles, c)
	if err := s.audit(ctx, a, AuditEvent{Action: AuditView, Outcome: OutcomeSuccess, PatientID: id, Entity: "Patient/" + string(id)}); err != nil {
		return Chart{}, err
	}
	s.mu.Lock()
	s.active, s.activeEnc = id, ""
	for _, e := range c.Encounters {
		if e.Status != EncDone && !e.Signed() {
			s.activeEnc = e.ID
			break
		}
	}
	s.mu.Unlock()
	return c, nil
}

// SetActiveEncounter makes enc the encounter instrument readings go to.
func (s *Service) SetActiveEncounter(p PatientID, enc EncounterID) {
	s.mu.Lock()
	s.active, s.activeEnc = p, enc
	s.mu.Unlock()
}

// Active returns the open chart's patient and encounter ids.
func (s *Service) Active() (PatientID, EncounterID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active, s.activeEnc
}

// ActiveEncounter returns the open chart's encounter (ok false when the
// chart has none), for a screen to follow AdvanceVisit opening or moving
// the visit's encounter. The chart's opening was audited; this read is
// not audited again. It needs PermViewChart.
func (s *Service) ActiveEncounter(ctx context.Context) (e Encounter, ok bool, err error) {
	if _, err := s.check(PermViewChart); err != nil {
		return Encounter{}, false, err
	}
	_, id := s.Active()
	if id == "" {
		return Encounter{}, false, nil
	}
	e, err = s.cfg.Store.GetEncounter(ctx, id)
	if err != nil {
		return Encounter{}, false, err
	}
	return e, true, nil
}

// CloseChart forgets the active chart.
func (s *Service) CloseChart() { s.SetActiveEncounter("", "") }

// FilterChart removes what roles may not see: clinical detail needs
// PermViewChart; without it only Rx and lensometry (PermViewRx) or
// demographics and schedule remain.
func FilterChart(roles []Role, c Chart) Chart {
	if Allowed(roles, PermViewChart) {
		return c
	}
	out := Chart{Patient: c.Patient, Appointments: c.Appointments}
	if !Allowed(roles, PermViewDemographics) {
		out.Patient = Patient{ID: c.Patient.ID, Name: c.Patient.Name, BirthDate: c.Patient.BirthDate, MRN: c.Patient.MRN, Version: c.Patient.Version}
	}
	if Allowed(roles, PermViewRx) {
		out.Prescriptions = c.Prescriptions
		out.ContactLenses = c.ContactLenses
		for _, m := range c.Measurements {
			if m.Kind == KindLensometry || m.Kind == KindPD {
				out.Measurements = append(out.Measurements, m)
			}
		}
	}
	return out
}

// permissionsFor returns what saving a measurement of this kind and source
// requires, any one of them: the final Rx and subjective findings are the
// optometrist's; a lensmeter reading is a pretest capture (the patient's
// habitual glasses) or the optician's check of finished glasses.
func permissionsFor(m Measurement) []Permission {
	switch m.Source {
	case SourceFinal:
		return []Permission{PermEditFinalRx}
	case SourceSubjective, SourceCycloplegic, SourceTrialFrame:
		return []Permission{PermEditExam}
	case SourceLensometry:
		return []Permission{PermCapture, PermVerifyGlasses}
	}
	return []Permission{PermCapture}
}

// authorizeAny is authorize for an action that any one of perms allows;
// a refusal is audited naming the first.
func (s *Service) authorizeAny(ctx context.Context, perms []Permission, patient PatientID) (Actor, error) {
	for _, p := range perms[1:] {
		if a, err := s.check(p); err == nil {
			return a, nil
		}
	}
	return s.authorize(ctx, perms[0], patient)
}

// checkEncounterOpen refuses changes to a signed encounter.
func (s *Service) checkEncounterOpen(ctx context.Context, id EncounterID) error {
	if id == "" {
		return nil
	}
	e, err := s.cfg.Store.GetEncounter(ctx, id)
	if err != nil {
		return err
	}
	if e.Signed() {
		return fmt.Errorf("encounter %s: %w: add an addendum instead", id, ErrImmutable)
	}
	return nil
}

// RecordMeasurement saves a measurement entered or accepted by the user.
func (s *Service) RecordMeasurement(ctx context.Context, m Measurement) (Measurement, error) {
	a, err := s.authorizeAny(ctx, permissionsFor(m), m.PatientID)
	if err != nil {
		return Measurement{}, err
	}
	if m.PatientID == "" || m.Kind == "" {
		return Measurement{}, Invalidf("measurement: missing patient or kind")
	}
	if err := s.checkEncounterOpen(ctx, m.EncounterID); err != nil {
		return Measurement{}, err
	}
	if m.ID == "" {
		m.ID = MeasurementID(NewID())
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = s.cfg.Clock.Now()
	}
	m.RecordedBy = a.User
	out, err := s.cfg.Store.SaveMeasurement(ctx, a, m)
	if err != nil {
		return Measurement{}, err
	}
	s.bus.Publish(MeasurementChanged{Measurement: out})
	return out, nil
}

// AcceptReading marks a pending instrument reading as reviewed and kept.
func (s *Service) AcceptReading(ctx context.Context, m Measurement) (Measurement, error) {
	m.Pending = false
	return s.RecordMeasurement(ctx, m)
}

// RemoveMeasurement deletes a measurement (re-take, or entered in error),
// leaving a tombstone with the reason.
func (s *Service) RemoveMeasurement(ctx context.Context, m Measurement, reason string) error {
	a, err := s.authorizeAny(ctx, permissionsFor(m), m.PatientID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return Invalidf("remove measurement: a reason is required")
	}
	if err := s.checkEncounterOpen(ctx, m.EncounterID); err != nil {
		return err
	}
	a.Reason = reason
	if err := s.cfg.Store.DeleteMeasurement(ctx, a, m.ID, m.Version); err != nil {
		return err
	}
	m.Deleted = true
	s.bus.Publish(MeasurementChanged{Measurement: m})
	return nil
}

// IngestCapture files what an instrument sent. It runs for background
// capture too, while the lane is locked: the raw bytes are always kept; the
// readings are bound, as pending, to the active chart, or wait unassigned
// when no chart is open. It never drops a capture for lack of a session.
func (s *Service) IngestCapture(ctx context.Context, c Capture) (Capture, error) {
	s.mu.Lock()
	var a Actor
	if s.session != nil {
		a = s.actorFor(*s.session)
	} else {
		a = Actor{User: UserID("instrument:" + c.Instrument.Profile), Lane: s.cfg.Lane, Device: s.cfg.Device}
	}
	if c.PatientID == "" {
		c.PatientID, c.EncounterID = s.active, s.activeEnc
	}
	s.mu.Unlock()
	if c.ID == "" {
		c.ID = CaptureID(NewID())
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = s.cfg.Clock.Now()
	}
	if c.PatientID != "" {
		if err := s.checkEncounterOpen(ctx, c.EncounterID); err != nil {
			c.PatientID, c.EncounterID = "", "" // a signed exam takes no new readings: wait for assignment
		}
	}
	c = bindReadings(c)
	if err := s.cfg.Store.SaveCapture(ctx, a, c); err != nil {
		return Capture{}, fmt.Errorf("save capture: %w", err)
	}
	if c.PatientID != "" {
		for i, m := range c.Readings {
			out, err := s.cfg.Store.SaveMeasurement(ctx, a, m)
			if err != nil {
				return c, fmt.Errorf("save reading: %w", err)
			}
			c.Readings[i] = out
		}
	}
	s.bus.Publish(CaptureArrived{Capture: c})
	return c, nil
}

// bindReadings stamps a capture's readings with its ids and marks them
// pending review.
func bindReadings(c Capture) Capture {
	rs := make([]Measurement, len(c.Readings))
	for i, m := range c.Readings {
		if m.ID == "" {
			m.ID = MeasurementID(NewID())
		}
		m.PatientID, m.EncounterID, m.CaptureID = c.PatientID, c.EncounterID, c.ID
		if m.Instrument == (InstrumentRef{}) {
			m.Instrument = c.Instrument
		}
		if m.DeviceTime.IsZero() {
			m.DeviceTime = c.DeviceTime
		}
		m.ReceivedAt = c.ReceivedAt
		m.Pending = true
		rs[i] = m
	}
	c.Readings = rs
	return c
}

// AssignCapture binds an unassigned (or wrongly bound) capture's readings
// to a patient and encounter, as pending readings for review.
func (s *Service) AssignCapture(ctx context.Context, id CaptureID, p PatientID, enc EncounterID) (Capture, error) {
	a, err := s.authorize(ctx, PermCapture, p)
	if err != nil {
		return Capture{}, err
	}
	if err := s.checkEncounterOpen(ctx, enc); err != nil {
		return Capture{}, err
	}
	c, err := s.cfg.Store.GetCapture(ctx, id)
	if err != nil {
		return Capture{}, err
	}
	if c.Image != nil {
		return s.fileQueuedImage(ctx, a, c, p, enc)
	}
	if c.PatientID != "" && c.PatientID != p {
		return Capture{}, Invalidf("capture already belongs to another chart: remove its readings there first")
	}
	return s.bindCapture(ctx, a, c, p, enc)
}

// bindCapture binds c's readings afresh, as pending, to patient p and
// encounter enc, saves the capture and the readings, and announces it.
func (s *Service) bindCapture(ctx context.Context, a Actor, c Capture, p PatientID, enc EncounterID) (Capture, error) {
	c.PatientID, c.EncounterID = p, enc
	for i := range c.Readings {
		c.Readings[i].ID = ""
		c.Readings[i].Version = 0
	}
	c = bindReadings(c)
	if err := s.cfg.Store.SaveCapture(ctx, a, c); err != nil {
		return Capture{}, err
	}
	for i, m := range c.Readings {
		out, err := s.cfg.Store.SaveMeasurement(ctx, a, m)
		if err != nil {
			return c, err
		}
		c.Readings[i] = out
	}
	s.bus.Publish(CaptureArrived{Capture: c})
	return c, nil
}

// UnassignedCaptures lists captures waiting to be assigned to a chart.
func (s *Service) UnassignedCaptures(ctx context.Context) ([]Capture, error) {
	if _, err := s.authorize(ctx, PermCapture, ""); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListCaptures(ctx, CaptureFilter{Unassigned: true})
}

// SaveEncounter saves changes to an encounter. Moving it along the
// lifecycle needs PermCapture (technicians move patients through pretest);
// changing clinical notes needs PermEditExam; a signed encounter only takes
// status changes and addenda.
func (s *Service) SaveEncounter(ctx context.Context, e Encounter) (Encounter, error) {
	perm := PermEditExam
	var prev Encounter
	if e.Version > 0 {
		var err error
		if prev, err = s.cfg.Store.GetEncounter(ctx, e.ID); err != nil {
			return Encounter{}, err
		}
		onlyStatus := prev
		onlyStatus.Status = e.Status
		if fmt.Sprint(onlyStatus.ChiefComplaint, onlyStatus.History, onlyStatus.Assessment, onlyStatus.Plan, onlyStatus.SignedBy) ==
			fmt.Sprint(e.ChiefComplaint, e.History, e.Assessment, e.Plan, e.SignedBy) {
			perm = PermCapture
		}
		if e.Status != prev.Status && !prev.Status.CanAdvance(e.Status) {
			return Encounter{}, Invalidf("encounter: cannot go from %s to %s", prev.Status, e.Status)
		}
		if err := prev.CheckEdit(e); err != nil {
			return Encounter{}, err
		}
		if len(e.Addenda) != len(prev.Addenda) {
			return Encounter{}, Invalidf("encounter: use AddAddendum to add an addendum")
		}
		if e.SignedBy != prev.SignedBy {
			return Encounter{}, Invalidf("encounter: use SignExam to sign")
		}
	} else if e.SignedBy != "" {
		return Encounter{}, Invalidf("encounter: use SignExam to sign")
	}
	a, err := s.authorize(ctx, perm, e.PatientID)
	if err != nil {
		return Encounter{}, err
	}
	if e.ID == "" {
		e.ID = EncounterID(NewID())
	}
	return s.cfg.Store.SaveEncounter(ctx, a, e)
}

// SignExam signs an encounter: from then on it is immutable.
func (s *Service) SignExam(ctx context.Context, id EncounterID) (Encounter, error) {
	e, err := s.cfg.Store.GetEncounter(ctx, id)
	if err != nil {
		return Encounter{}, err
	}
	a, err := s.authorize(ctx, PermSignExam, e.PatientID)
	if err != nil {
		return Encounter{}, err
	}
	if e.Signed() {
		return Encounter{}, fmt.Errorf("encounter %s: %w", id, ErrImmutable)
	}
	e.SignedBy, e.SignedAt = a.User, s.cfg.Clock.Now()
	if e.Clinician == "" {
		e.Clinician = a.User
	}
	return s.cfg.Store.SaveEncounter(ctx, a, e)
}

// AddAddendum appends a note to a signed (or unsigned) encounter.
func (s *Service) AddAddendum(ctx context.Context, id EncounterID, text string) (Encounter, error) {
	e, err := s.cfg.Store.GetEncounter(ctx, id)
	if err != nil {
		return Encounter{}, err
	}
	a, err := s.authorize(ctx, PermAddendum, e.PatientID)
	if err != nil {
		return Encounter{}, err
	}
	if strings.TrimSpace(text) == "" {
		return Encounter{}, Invalidf("addendum: empty text")
	}
	e.Addenda = append(e.Addenda, Addendum{Author: a.User, At: s.cfg.Clock.Now(), Text: text})
	return s.cfg.Store.SaveEncounter(ctx, a, e)
}

// SaveSpectacleRx saves a draft prescription. Signed prescriptions never
// change; write a new one.
func (s *Service) SaveSpectacleRx(ctx context.Context, rx SpectacleRx) (SpectacleRx, error) {
	a, err := s.authorize(ctx, PermEditFinalRx, rx.PatientID)
	if err != nil {
		return SpectacleRx{}, err
	}
	if rx.Signed() || rx.Prescriber != "" && rx.Version == 0 {
		return SpectacleRx{}, Invalidf("prescription: use SignRx to sign")
	}
	if rx.ID == "" {
		rx.ID = PrescriptionID(NewID())
	}
	return s.cfg.Store.SaveSpectacleRx(ctx, a, rx)
}

// SignRx signs a prescription: the optometrist becomes its prescriber.
func (s *Service) SignRx(ctx context.Context, rx SpectacleRx) (SpectacleRx, error) {
	a, err := s.authorize(ctx, PermSignRx, rx.PatientID)
	if err != nil {
		return SpectacleRx{}, err
	}
	if rx.Signed() {
		return SpectacleRx{}, fmt.Errorf("prescription %s: %w", rx.ID, ErrImmutable)
	}
	if rx.ID == "" {
		rx.ID = PrescriptionID(NewID())
	}
	now := s.cfg.Clock.Now()
	rx.Prescriber, rx.SignedAt = a.User, now
	if rx.Issued.IsZero() {
		rx.Issued = DateOf(now.In(s.cfg.TimeZone))
	}
	return s.cfg.Store.SaveSpectacleRx(ctx, a, rx)
}

// RecordExport audits a document generated for a patient (Rx print, PDF
// export); call it before handing the document out.
func (s *Service) RecordExport(ctx context.Context, p PatientID, what string) error {
	a, err := s.authorize(ctx, PermExport, p)
	if err != nil {
		return err
	}
	return s.audit(ctx, a, AuditEvent{Action: AuditExport, Outcome: OutcomeSuccess, PatientID: p, Detail: what})
}

// RecordSettingsChange audits a change of lane settings.
func (s *Service) RecordSettingsChange(ctx context.Context, what string) error {
	a, err := s.authorize(ctx, PermChangeSettings, "")
	if err != nil {
		return err
	}
	return s.audit(ctx, a, AuditEvent{Action: AuditSettings, Outcome: OutcomeSuccess, Detail: what})
}
