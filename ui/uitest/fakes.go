// Package uitest holds in-memory fakes of the ports the ui package
// declares (Authenticator, SyncView, Instruments, Settings) and a seeded
// synthetic practice to run the screens against. Import it only from
// _test.go files.
package uitest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
)

// User is a staff account of the fake Authenticator.
type User struct {
	ID       lane.UserID
	Login    string // the user name typed at sign-in
	Display  string
	Password string
	Code     string // the one authenticator code accepted
	Roles    []lane.Role
}

// Auth is an in-memory ui.Authenticator. Five wrong PINs in a row lock
// the PIN out, as the security design says. It is safe for concurrent use.
type Auth struct {
	clock lane.Clock

	mu    sync.Mutex
	users map[string]User        // by login; guarded by mu
	pins  map[lane.UserID]string // guarded by mu
	wrong map[lane.UserID]int    // consecutive wrong PINs; guarded by mu
	fail  map[string]error       // forced failure per login; guarded by mu
	calls map[string]int         // calls per method; guarded by mu
}

var _ ui.Authenticator = (*Auth)(nil)

// maxWrongPINs is how many wrong PINs lock the PIN out.
const maxWrongPINs = 5

// NewAuth returns an authenticator that knows users.
func NewAuth(clock lane.Clock, users ...User) *Auth {
	a := &Auth{clock: clock, users: map[string]User{}, pins: map[lane.UserID]string{},
		wrong: map[lane.UserID]int{}, fail: map[string]error{}, calls: map[string]int{}}
	for _, u := range users {
		a.users[strings.ToLower(u.Login)] = u
	}
	return a
}

// Fail makes every sign-in of login fail with err (nil to stop).
func (a *Auth) Fail(login string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail[strings.ToLower(login)] = err
}

// Calls returns how many times method ("SignIn", "Resume", "SetPIN") was
// called.
func (a *Auth) Calls(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[method]
}

// SignIn implements ui.Authenticator.
func (a *Auth) SignIn(_ context.Context, login, password, code string) (lane.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["SignIn"]++
	if err := a.fail[strings.ToLower(login)]; err != nil {
		return lane.Session{}, err
	}
	u, ok := a.users[strings.ToLower(login)]
	if !ok || u.Password != password || u.Code != code {
		return lane.Session{}, fmt.Errorf("sign in: %w", ui.ErrBadCredentials)
	}
	now := a.clock.Now()
	a.wrong[u.ID] = 0
	return lane.Session{User: u.ID, Display: u.Display, Roles: slices.Clone(u.Roles), Started: now, Expires: now.Add(12 * time.Hour)}, nil
}

// Resume implements ui.Authenticator.
func (a *Auth) Resume(_ context.Context, user lane.UserID, pin string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["Resume"]++
	want, ok := a.pins[user]
	switch {
	case !ok:
		return fmt.Errorf("resume: %w", ui.ErrNoPIN)
	case a.wrong[user] >= maxWrongPINs:
		return fmt.Errorf("resume: %w", ui.ErrPINLockedOut)
	case pin != want:
		a.wrong[user]++
		if a.wrong[user] >= maxWrongPINs {
			return fmt.Errorf("resume: %w", ui.ErrPINLockedOut)
		}
		return fmt.Errorf("resume: %w", ui.ErrBadCredentials)
	}
	a.wrong[user] = 0
	return nil
}

// SetPIN implements ui.Authenticator: at least 8 digits, not all the same
// digit and not a run such as 12345678.
func (a *Auth) SetPIN(_ context.Context, user lane.UserID, pin string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls["SetPIN"]++
	if len(pin) < 8 || strings.Trim(pin, "0123456789") != "" {
		return lane.Invalidf("a PIN has at least 8 digits")
	}
	same, run := true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		run = run && pin[i] == pin[i-1]+1
	}
	if same || run {
		return lane.Invalidf("that PIN is too easy to guess")
	}
	a.pins[user] = pin
	a.wrong[user] = 0
	return nil
}

// Sync is an in-memory ui.SyncView. It is safe for concurrent use.
type Sync struct {
	mu        sync.Mutex
	status    lane.SyncStatus // guarded by mu
	conflicts []lane.Conflict // guarded by mu
	resolved  []Resolution    // guarded by mu
	syncs     int             // guarded by mu
}

// Resolution is a decision the fake recorded.
type Resolution struct {
	ID     lane.ConflictID
	How    lane.ConflictResolution
	Merged []byte
}

var _ ui.SyncView = (*Sync)(nil)

// NewSync returns a sync view reporting st.
func NewSync(st lane.SyncStatus) *Sync { return &Sync{status: st} }

// SetStatus changes the status reported.
func (s *Sync) SetStatus(st lane.SyncStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = st
}

// AddConflict adds a conflict waiting for a person.
func (s *Sync) AddConflict(c lane.Conflict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conflicts = append(s.conflicts, c)
	s.status.Conflicts = len(s.conflicts)
}

// Resolved returns the decisions recorded.
func (s *Sync) Resolved() []Resolution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.resolved)
}

// Syncs returns how many times SyncNow was called.
func (s *Sync) Syncs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

// Status implements ui.SyncView.
func (s *Sync) Status() lane.SyncStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Conflicts implements ui.SyncView.
func (s *Sync) Conflicts(context.Context) ([]lane.Conflict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conflicts), nil
}

// Resolve implements ui.SyncView: the conflict leaves the list.
func (s *Sync) Resolve(_ context.Context, id lane.ConflictID, how lane.ConflictResolution, merged []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.conflicts, func(c lane.Conflict) bool { return c.ID == id })
	if i < 0 {
		return fmt.Errorf("conflict %s: %w", id, lane.ErrNotFound)
	}
	s.conflicts = slices.Delete(s.conflicts, i, i+1)
	s.status.Conflicts = len(s.conflicts)
	s.resolved = append(s.resolved, Resolution{ID: id, How: how, Merged: merged})
	return nil
}

// SyncNow implements ui.SyncView.
func (s *Sync) SyncNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
}

// Instruments is an in-memory ui.Instruments. Measure and SendRx are
// recorded; OnMeasure, when set, is called after Measure returns the lock
// (a test makes the instrument "send" a capture there). It is safe for
// concurrent use.
type Instruments struct {
	mu       sync.Mutex
	list     []ui.InstrumentInfo // guarded by mu
	measured []string            // guarded by mu
	sent     []SentRx            // guarded by mu

	// OnMeasure runs for each Measure call, outside the fake's lock.
	OnMeasure func(profile string)
}

// SentRx is a prescription the fake received.
type SentRx struct {
	Profile string
	Rx      lane.RxPair
}

var _ ui.Instruments = (*Instruments)(nil)

// NewInstruments returns instruments in the given states.
func NewInstruments(list ...ui.InstrumentInfo) *Instruments { return &Instruments{list: list} }

// SetState changes an instrument's state.
func (in *Instruments) SetState(profile, state string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range in.list {
		if in.list[i].Profile == profile {
			in.list[i].State = state
		}
	}
}

// Measured returns the profiles asked to measure.
func (in *Instruments) Measured() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.measured)
}

// Sent returns the prescriptions sent.
func (in *Instruments) Sent() []SentRx {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.sent)
}

// List implements ui.Instruments.
func (in *Instruments) List() []ui.InstrumentInfo {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.list)
}

// find returns the instrument with profile p.
func (in *Instruments) find(p string) (ui.InstrumentInfo, bool) {
	for _, x := range in.list {
		if x.Profile == p {
			return x, true
		}
	}
	return ui.InstrumentInfo{}, false
}

// Measure implements ui.Instruments.
func (in *Instruments) Measure(_ context.Context, profile string) error {
	in.mu.Lock()
	x, ok := in.find(profile)
	if !ok || !x.CanMeasure || x.State == "disconnected" {
		in.mu.Unlock()
		return fmt.Errorf("measure %s: %w", profile, lane.ErrUnavailable)
	}
	in.measured = append(in.measured, profile)
	f := in.OnMeasure
	in.mu.Unlock()
	if f != nil {
		f(profile)
	}
	return nil
}

// SendRx implements ui.Instruments.
func (in *Instruments) SendRx(_ context.Context, profile string, rx lane.RxPair) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	x, ok := in.find(profile)
	if !ok || !x.AcceptsRx {
		return fmt.Errorf("send rx to %s: %w", profile, lane.ErrUnavailable)
	}
	in.sent = append(in.sent, SentRx{Profile: profile, Rx: rx})
	return nil
}

// Settings is an in-memory ui.Settings. It is safe for concurrent use.
type Settings struct {
	mu       sync.Mutex
	current  ui.LaneSettings   // guarded by mu
	saved    []ui.LaneSettings // guarded by mu
	profiles []string
}

var _ ui.Settings = (*Settings)(nil)

// NewSettings returns settings holding s, with profiles known.
func NewSettings(s ui.LaneSettings, profiles ...string) *Settings {
	return &Settings{current: s, profiles: profiles}
}

// Saved returns every successful Save, oldest first.
func (s *Settings) Saved() []ui.LaneSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.saved)
}

// Load implements ui.Settings.
func (s *Settings) Load(context.Context) (ui.LaneSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.current
	out.Instruments = slices.Clone(out.Instruments)
	return out, nil
}

// Save implements ui.Settings: the lock timeout must be 2 to 15 minutes
// and every profile known.
func (s *Settings) Save(_ context.Context, ls ui.LaneSettings) error {
	if ls.LockTimeout < 2*time.Minute || ls.LockTimeout > 15*time.Minute {
		return lane.Invalidf("lock timeout %s: choose 2 to 15 minutes", ls.LockTimeout)
	}
	for _, in := range ls.Instruments {
		if !slices.Contains(s.profiles, in.Profile) {
			return lane.Invalidf("instrument %q: unknown profile %q", in.Name, in.Profile)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls.Instruments = slices.Clone(ls.Instruments)
	s.current = ls
	s.saved = append(s.saved, ls)
	return nil
}

// Profiles implements ui.Settings.
func (s *Settings) Profiles() []string { return slices.Clone(s.profiles) }
