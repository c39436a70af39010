// Package signin is the lane's sign-in layer: it verifies who is at the
// lane and hands the shift session to lane.Service (the screens call
// Service.Begin and Service.Unlock with what it returns).
//
// A start-of-shift sign-in (user name, password, TOTP code) is verified by
// the practice server first. On success the lane caches, sealed in its
// database, an offline verifier (Argon2id of the password with a salt the
// server chose for this lane) and the TOTP secret, and records the time.
// When the server cannot be reached, the same three things are verified
// against that cache, with the same TOTP replay protection, within the
// offline window (7 days by default) after the user's last online sign-in
// on this lane; after it the lane refuses with "Offline sign-in expired:
// connect to the practice network to sign in".
//
// Failed attempts slow down (1 s doubling to 5 min) and lock the account
// on this lane after 10 in a row, until an administrator resets it or the
// user signs in while the server is reachable. Every failure is audited
// (lane.AuditSignIn or lane.AuditUnlock, outcome failure, never the
// password); successes are audited by Service.Begin and Service.Unlock, so
// each sign-in produces exactly one event.
//
// After signing in, a user may set a PIN (4 to 8 digits) that resumes the
// locked shift on this lane; it is kept only in memory as an Argon2id
// verifier and dies with the shift. Five wrong PINs void it.
package signin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/cmd/internal/passhash"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
)

// Store is what the sign-in layer needs from the lane database
// (*localdb.DB): the cached users, their sign-in state, and the audit
// trail.
type Store interface {
	UserByLogin(ctx context.Context, login string) (localdb.User, error)
	GetUser(ctx context.Context, id lane.UserID) (localdb.User, error)
	SaveUser(ctx context.Context, by lane.Actor, u localdb.User) (localdb.User, error)
	SignInState(ctx context.Context, id lane.UserID) (localdb.SignInState, error)
	UpdateSignInState(ctx context.Context, id lane.UserID, fn func(*localdb.SignInState) error) (localdb.SignInState, error)
	Audit(ctx context.Context, e lane.AuditEvent) error
}

// Server verifies sign-ins online (*syncclient.SignInClient).
type Server interface {
	SignIn(ctx context.Context, login, password, totp string) (syncclient.AuthResult, error)
	Refresh(ctx context.Context, token string) (syncclient.AuthToken, error)
}

// Errors the screens explain. Config.Errors replaces them with the ui
// package's sentinels when wired into the app.
var (
	ErrBadCredentials = errors.New("user name, password or code not accepted")
	ErrPINLockedOut   = errors.New("too many wrong PINs")
	ErrNoPIN          = errors.New("no PIN set")
)

// Errors are the sentinels wrapped by refusals, so that the screens can
// tell them apart with errors.Is.
type Errors struct {
	BadCredentials, PINLockedOut, NoPIN error
}

// Config configures an Authenticator. Store and Clock are required.
type Config struct {
	Store Store
	// Server is nil when the lane is not enrolled: every sign-in is then
	// offline.
	Server Server
	Clock  lane.Clock
	// Lane is this lane's name, recorded in audit events.
	Lane string
	// Shift is the longest shift session (12 h).
	Shift time.Duration
	// Offline, Lockout and PIN are the policies (auth.Default... when
	// zero). Offline.Window 0 means the default; use a negative window to
	// turn offline sign-in off.
	Offline auth.OfflinePolicy
	Lockout auth.LockoutPolicy
	PIN     auth.PINPolicy
	// PINHash are the Argon2id parameters of PIN verifiers
	// (passhash.Default).
	PINHash passhash.Params
	// Errors replaces the package's sentinels.
	Errors Errors
	// Logf receives notable events; never credentials or patient data.
	Logf func(format string, args ...any)
}

// Authenticator verifies sign-ins, PINs and keeps user tokens. It
// implements the screens' Authenticator interface and is safe for
// concurrent use.
type Authenticator struct {
	cfg  Config
	totp auth.TOTP

	mu      sync.Mutex
	shifts  map[lane.UserID]*shift               // guarded by mu; the current shift per user
	unknown map[string]auth.Attempts             // guarded by mu; failures of logins not cached here
	tokens  map[lane.UserID]syncclient.AuthToken // guarded by mu
}

// shift is a signed-in user's shift on this lane.
type shift struct {
	session     lane.Session
	pin         string // Argon2id PHC of the PIN; "" when none
	pinFailures int
}

// UnknownUser is the user id audited for failed sign-ins of a login this
// lane does not know (the typed name is never recorded: people type
// passwords into it).
const UnknownUser lane.UserID = "unknown-user"

// New returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Store == nil || cfg.Clock == nil {
		return nil, lane.Invalidf("signin: Store and Clock are required")
	}
	if cfg.Shift <= 0 {
		cfg.Shift = 12 * time.Hour
	}
	switch {
	case cfg.Offline.Window == 0:
		cfg.Offline = auth.DefaultOffline()
	case cfg.Offline.Window < 0:
		cfg.Offline.Window = 0
	}
	if cfg.Lockout == (auth.LockoutPolicy{}) {
		cfg.Lockout = auth.DefaultLockout()
	}
	if cfg.PIN == (auth.PINPolicy{}) {
		cfg.PIN = auth.DefaultPIN()
	}
	if cfg.PINHash == (passhash.Params{}) {
		cfg.PINHash = passhash.Default
	}
	if cfg.Errors.BadCredentials == nil {
		cfg.Errors.BadCredentials = ErrBadCredentials
	}
	if cfg.Errors.PINLockedOut == nil {
		cfg.Errors.PINLockedOut = ErrPINLockedOut
	}
	if cfg.Errors.NoPIN == nil {
		cfg.Errors.NoPIN = ErrNoPIN
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Authenticator{cfg: cfg, totp: auth.DefaultTOTP(), shifts: map[lane.UserID]*shift{},
		unknown: map[string]auth.Attempts{}, tokens: map[lane.UserID]syncclient.AuthToken{}}, nil
}

func normLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func attemptsOf(st localdb.SignInState) auth.Attempts {
	return auth.Attempts{Failures: st.Failures, LastFailure: st.LastFailure, Locked: st.Locked}
}

// SignIn verifies a start-of-shift sign-in and returns the session to
// begin: online when the server answers, else offline within the window.
func (a *Authenticator) SignIn(ctx context.Context, login, password, code string) (lane.Session, error) {
	now := a.cfg.Clock.Now()
	key := normLogin(login)
	if key == "" {
		return lane.Session{}, fmt.Errorf("sign in: %w", a.cfg.Errors.BadCredentials)
	}
	cached, err := a.cfg.Store.UserByLogin(ctx, key)
	known := err == nil
	if err != nil && !errors.Is(err, lane.ErrNotFound) {
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	var st localdb.SignInState
	if known {
		if st, err = a.cfg.Store.SignInState(ctx, cached.ID); err != nil {
			return lane.Session{}, fmt.Errorf("sign in: %w", err)
		}
	}
	attempts := attemptsOf(st)
	if !known {
		a.mu.Lock()
		attempts = a.unknown[key]
		a.mu.Unlock()
	}
	// The lane's delay applies online too; its lock only offline (a
	// sign-in the server verifies unlocks the account here).
	if w := a.cfg.Lockout.Wait(attempts, now); w > 0 {
		err := &auth.ThrottleError{RetryAfter: w}
		a.auditFailure(ctx, cached, known, "refused: "+err.Error())
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	if a.cfg.Server != nil {
		res, err := a.cfg.Server.SignIn(ctx, login, password, code)
		var ae *syncclient.AuthError
		switch {
		case err == nil:
			return a.onlineSuccess(ctx, res, password, now)
		case errors.Is(err, syncclient.ErrAuthRejected):
			return lane.Session{}, a.failed(ctx, cached, known, key, now, "not accepted by the server")
		case errors.As(err, &ae) && errors.Is(err, syncclient.ErrAuthThrottled):
			a.auditFailure(ctx, cached, known, "refused by the server: too many failed sign-ins")
			return lane.Session{}, fmt.Errorf("sign in: %w", &auth.ThrottleError{RetryAfter: max(ae.RetryAfter, time.Second)})
		case errors.Is(err, syncclient.ErrAuthLocked):
			a.auditFailure(ctx, cached, known, "refused by the server: account locked")
			return lane.Session{}, fmt.Errorf("sign in: %w", auth.ErrAccountLocked)
		case ctx.Err() != nil:
			return lane.Session{}, fmt.Errorf("sign in: %w", ctx.Err())
		}
		a.cfg.Logf("sign-in: server not usable (%v): verifying offline", err)
	}
	return a.offline(ctx, cached, known, key, password, code, st, now)
}

// onlineSuccess caches what offline sign-in needs and starts the shift.
func (a *Authenticator) onlineSuccess(ctx context.Context, res syncclient.AuthResult, password string, now time.Time) (lane.Session, error) {
	v := res.Offline.Verifier
	params := passhash.Params{Time: v.Time, MemoryKiB: v.MemoryKiB, Threads: v.Threads, KeyLen: v.KeyLen, SaltLen: uint32(len(v.Salt))}
	secret, err := auth.DecodeSecret(res.Offline.TOTPSecret)
	if err != nil {
		return lane.Session{}, fmt.Errorf("sign in: server's TOTP secret: %w", err)
	}
	prev, err := a.cfg.Store.GetUser(ctx, res.UserID)
	if err != nil && !errors.Is(err, lane.ErrNotFound) {
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	// The verifier only changes with the password or the server's salt:
	// re-derive it only then (it costs as much as the server's check).
	verifier := prev.Verifier
	if ok, _ := matchesSalt(prev.Verifier, v.Salt, params, password); !ok {
		phc, err := passhash.HashWithSalt(password, v.Salt, params)
		if err != nil {
			return lane.Session{}, fmt.Errorf("sign in: offline verifier: %w", err)
		}
		verifier = []byte(phc)
	}
	u := localdb.User{ID: res.UserID, Login: res.Login, DisplayName: res.Display, Roles: slices.Clone(res.Roles),
		TOTPLastStep: max(prev.TOTPLastStep, res.TOTPStep), Verifier: verifier, TOTPSecret: secret, Version: prev.Version}
	if u.Login != prev.Login || u.DisplayName != prev.DisplayName || !slices.Equal(u.Roles, prev.Roles) || prev.Disabled ||
		!bytes.Equal(u.Verifier, prev.Verifier) || !bytes.Equal(u.TOTPSecret, prev.TOTPSecret) {
		by := lane.Actor{User: res.UserID, Roles: res.Roles, Lane: a.cfg.Lane}
		if _, err := a.cfg.Store.SaveUser(ctx, by, u); err != nil {
			// The person is verified; only the offline cache is stale.
			a.cfg.Logf("sign-in: caching user %s for offline sign-in failed: %v", res.UserID, err)
		}
	}
	if _, err := a.cfg.Store.UpdateSignInState(ctx, res.UserID, func(s *localdb.SignInState) error {
		s.LastOnline, s.Failures, s.LastFailure, s.Locked = now, 0, time.Time{}, false
		s.LastTOTPStep = max(s.LastTOTPStep, res.TOTPStep)
		return nil
	}); err != nil {
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	a.mu.Lock()
	delete(a.unknown, normLogin(res.Login))
	a.tokens[res.UserID] = syncclient.AuthToken{Token: res.Token, Expires: res.TokenExpires}
	a.mu.Unlock()
	return a.startShift(lane.Session{User: res.UserID, Display: res.Display, Roles: slices.Clone(res.Roles)}, now), nil
}

// matchesSalt reports whether phc is the Argon2id verifier of password
// with salt and params.
func matchesSalt(phc, salt []byte, params passhash.Params, password string) (bool, error) {
	if len(phc) == 0 {
		return false, nil
	}
	p, s, _, err := passhash.Parse(string(phc))
	if err != nil || !bytes.Equal(s, salt) || p.Time != params.Time || p.MemoryKiB != params.MemoryKiB ||
		p.Threads != params.Threads || p.KeyLen != params.KeyLen {
		return false, err
	}
	return passhash.Verify(string(phc), password)
}

// offline verifies against the lane's cache.
func (a *Authenticator) offline(ctx context.Context, u localdb.User, known bool, key, password, code string, st localdb.SignInState, now time.Time) (lane.Session, error) {
	switch {
	case !known || u.Disabled || len(u.Verifier) == 0 || len(u.TOTPSecret) == 0:
		return lane.Session{}, a.failed(ctx, u, known, key, now, "offline: user not known on this lane")
	case st.Locked:
		a.auditFailure(ctx, u, true, "offline: account locked on this lane")
		return lane.Session{}, fmt.Errorf("sign in: %w", auth.ErrAccountLocked)
	}
	if err := a.cfg.Offline.Check(st.LastOnline, now); err != nil {
		a.auditFailure(ctx, u, true, "offline: window since the last online sign-in has passed")
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	pwOK, pwErr := passhash.Verify(string(u.Verifier), password)
	step, codeErr := a.totp.Verify(u.TOTPSecret, code, now, max(st.LastTOTPStep, u.TOTPLastStep))
	ok := pwErr == nil && pwOK && codeErr == nil
	var locked bool
	_, err := a.cfg.Store.UpdateSignInState(ctx, u.ID, func(s *localdb.SignInState) error {
		if ok && step <= s.LastTOTPStep { // another sign-in took this code meanwhile
			ok = false
		}
		if !ok {
			at := a.cfg.Lockout.Fail(attemptsOf(*s), now)
			s.Failures, s.LastFailure, s.Locked = at.Failures, at.LastFailure, at.Locked
			locked = at.Locked
			return nil
		}
		s.Failures, s.LastFailure, s.LastTOTPStep = 0, time.Time{}, step
		return nil
	})
	if err != nil {
		return lane.Session{}, fmt.Errorf("sign in: %w", err)
	}
	if !ok {
		why := "offline: wrong password or code"
		if errors.Is(codeErr, auth.ErrCodeReplayed) && pwOK {
			why = "offline: code already used"
		}
		if locked {
			why += "; account now locked on this lane"
		}
		a.auditFailure(ctx, u, true, why)
		return lane.Session{}, fmt.Errorf("sign in: %w", a.cfg.Errors.BadCredentials)
	}
	return a.startShift(lane.Session{User: u.ID, Display: u.DisplayName, Roles: slices.Clone(u.Roles)}, now), nil
}

// failed counts a wrong sign-in (on the cached user's state, or in memory
// for logins this lane does not know), audits it and returns the error.
func (a *Authenticator) failed(ctx context.Context, u localdb.User, known bool, key string, now time.Time, why string) error {
	if known {
		st, err := a.cfg.Store.UpdateSignInState(ctx, u.ID, func(s *localdb.SignInState) error {
			at := a.cfg.Lockout.Fail(attemptsOf(*s), now)
			s.Failures, s.LastFailure, s.Locked = at.Failures, at.LastFailure, at.Locked
			return nil
		})
		if err != nil {
			a.cfg.Logf("sign-in: recording a failure: %v", err)
		}
		if st.Locked {
			why += "; account now locked on this lane"
		}
	} else {
		a.mu.Lock()
		a.unknown[key] = a.cfg.Lockout.Fail(a.unknown[key], now)
		a.mu.Unlock()
	}
	a.auditFailure(ctx, u, known, why)
	return fmt.Errorf("sign in: %w", a.cfg.Errors.BadCredentials)
}

// auditFailure records a failed sign-in: the user when the lane knows the
// login, else UnknownUser; the reason in words; never what was typed.
func (a *Authenticator) auditFailure(ctx context.Context, u localdb.User, known bool, why string) {
	e := lane.AuditEvent{ID: lane.NewID(), At: a.cfg.Clock.Now(), User: UnknownUser, Lane: a.cfg.Lane,
		Action: lane.AuditSignIn, Outcome: lane.OutcomeFailure, Detail: why}
	if known {
		e.User = u.ID
		if len(u.Roles) > 0 {
			e.Role = u.Roles[0]
		}
	}
	if err := a.cfg.Store.Audit(ctx, e); err != nil {
		a.cfg.Logf("sign-in: audit of a failure: %v", err)
	}
}

// startShift records the new shift (ending every other on this lane: one
// person works a lane at a time) and returns its session.
func (a *Authenticator) startShift(s lane.Session, now time.Time) lane.Session {
	s.Started, s.Expires = now, now.Add(a.cfg.Shift)
	a.mu.Lock()
	a.shifts = map[lane.UserID]*shift{s.User: {session: s}}
	a.mu.Unlock()
	return s
}

// SetPIN sets the PIN that resumes user's locked shift on this lane. The
// user must have signed in here in the current shift; a PIN outside the
// policy wraps lane.ErrInvalid.
func (a *Authenticator) SetPIN(ctx context.Context, user lane.UserID, pin string) error {
	if _, err := a.currentShift(user); err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	if err := a.cfg.PIN.Check(pin); err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	phc, err := passhash.Hash(pin, a.cfg.PINHash)
	if err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	a.mu.Lock()
	sh := a.shifts[user]
	if sh != nil {
		sh.pin, sh.pinFailures = phc, 0
	}
	a.mu.Unlock()
	if sh == nil {
		return fmt.Errorf("set PIN: %w", lane.ErrLocked)
	}
	if err := a.cfg.Store.Audit(ctx, lane.AuditEvent{ID: lane.NewID(), At: a.cfg.Clock.Now(), User: user, Lane: a.cfg.Lane,
		Action: lane.AuditSettings, Outcome: lane.OutcomeSuccess, Detail: "PIN set for this shift"}); err != nil {
		a.cfg.Logf("sign-in: audit of PIN set: %v", err)
	}
	return nil
}

// currentShift returns user's unexpired shift.
func (a *Authenticator) currentShift(user lane.UserID) (*shift, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sh := a.shifts[user]
	if sh == nil {
		return nil, fmt.Errorf("not signed in on this lane: %w", lane.ErrLocked)
	}
	if a.cfg.Clock.Now().After(sh.session.Expires) {
		delete(a.shifts, user)
		return nil, fmt.Errorf("shift session ended: %w", lane.ErrLocked)
	}
	return sh, nil
}

// Resume verifies the PIN of user's locked shift. After PIN.MaxFailures
// wrong PINs in a row the PIN is void (errors wrap the PINLockedOut
// sentinel) and a full sign-in is needed. Each wrong PIN is audited
// (lane.AuditUnlock, failure); the screens call Service.Unlock on success,
// which audits it.
func (a *Authenticator) Resume(ctx context.Context, user lane.UserID, pin string) error {
	sh, err := a.currentShift(user)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	a.mu.Lock()
	phc, failures := sh.pin, sh.pinFailures
	a.mu.Unlock()
	switch {
	case phc == "" && failures >= a.cfg.PIN.MaxFailures:
		return fmt.Errorf("resume: %w", a.cfg.Errors.PINLockedOut)
	case phc == "":
		return fmt.Errorf("resume: %w", a.cfg.Errors.NoPIN)
	}
	ok, err := passhash.Verify(phc, pin)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	a.mu.Lock()
	if sh.pin != phc { // voided or reset meanwhile
		a.mu.Unlock()
		return fmt.Errorf("resume: %w", a.cfg.Errors.PINLockedOut)
	}
	if ok {
		sh.pinFailures = 0
		a.mu.Unlock()
		return nil
	}
	sh.pinFailures++
	void := sh.pinFailures >= a.cfg.PIN.MaxFailures
	if void {
		sh.pin = ""
	}
	n := sh.pinFailures
	a.mu.Unlock()
	why := fmt.Sprintf("wrong PIN (%d in a row)", n)
	if void {
		why += "; PIN void: full sign-in required"
	}
	e := lane.AuditEvent{ID: lane.NewID(), At: a.cfg.Clock.Now(), User: user, Lane: a.cfg.Lane,
		Action: lane.AuditUnlock, Outcome: lane.OutcomeFailure, Detail: why}
	if len(sh.session.Roles) > 0 {
		e.Role = sh.session.Roles[0]
	}
	if err := a.cfg.Store.Audit(ctx, e); err != nil {
		a.cfg.Logf("sign-in: audit of a wrong PIN: %v", err)
	}
	if void {
		return fmt.Errorf("resume: %w", a.cfg.Errors.PINLockedOut)
	}
	return fmt.Errorf("resume: %w", a.cfg.Errors.BadCredentials)
}

// SignOut forgets user's shift (PIN and token) on this lane.
func (a *Authenticator) SignOut(user lane.UserID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.shifts, user)
	delete(a.tokens, user)
}

// tokenRefreshMargin is how long before expiry BearerToken renews.
const tokenRefreshMargin = 5 * time.Minute

// BearerToken returns a valid user token for requests made for user (the
// sync client's Authorization header), refreshing it when it expires
// within five minutes. Without one (an offline sign-in, or expired) it
// returns an error wrapping lane.ErrNotFound: the request then goes
// without a token.
func (a *Authenticator) BearerToken(ctx context.Context, user lane.UserID) (string, error) {
	now := a.cfg.Clock.Now()
	a.mu.Lock()
	t, ok := a.tokens[user]
	a.mu.Unlock()
	if !ok || !now.Before(t.Expires) {
		return "", fmt.Errorf("user token: %w", lane.ErrNotFound)
	}
	if t.Expires.Sub(now) > tokenRefreshMargin || a.cfg.Server == nil {
		return t.Token, nil
	}
	nt, err := a.cfg.Server.Refresh(ctx, t.Token)
	if err != nil {
		a.cfg.Logf("sign-in: token refresh failed: %v", err)
		return t.Token, nil // still valid for a few minutes
	}
	a.mu.Lock()
	if _, still := a.tokens[user]; still {
		a.tokens[user] = nt
	}
	a.mu.Unlock()
	return nt.Token, nil
}

// ResetLockout clears the failures and lock of a login on this lane; by
// must hold lane.PermManageUsers. It is audited.
func (a *Authenticator) ResetLockout(ctx context.Context, by lane.Actor, login string) error {
	if err := lane.Check(by.Roles, lane.PermManageUsers); err != nil {
		return fmt.Errorf("reset lockout: %w", err)
	}
	u, err := a.cfg.Store.UserByLogin(ctx, normLogin(login))
	if err != nil {
		return fmt.Errorf("reset lockout: %w", err)
	}
	if _, err := a.cfg.Store.UpdateSignInState(ctx, u.ID, func(s *localdb.SignInState) error {
		s.Failures, s.LastFailure, s.Locked = 0, time.Time{}, false
		return nil
	}); err != nil {
		return fmt.Errorf("reset lockout: %w", err)
	}
	return a.cfg.Store.Audit(ctx, lane.AuditEvent{ID: lane.NewID(), At: a.cfg.Clock.Now(), User: by.User, Role: by.PrimaryRole(),
		Lane: a.cfg.Lane, Action: lane.AuditSettings, Outcome: lane.OutcomeSuccess, Detail: "sign-in lockout reset for user " + string(u.ID)})
}
