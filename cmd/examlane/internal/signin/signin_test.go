package signin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/signin"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

func TestOnlineThenOfflineWindow(t *testing.T) {
	r := newRig(t)
	s, err := r.auth.SignIn(ctx, "Sam.Lee", r.srv.password, r.code())
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "u-sam" || s.Display != "Sam Lee" || s.Roles[0] != lane.RoleOptometrist || s.Expires.Sub(s.Started) != 12*time.Hour {
		t.Fatalf("session %+v", s)
	}
	u, err := r.db.UserByLogin(ctx, "sam.lee")
	if err != nil || !strings.HasPrefix(string(u.Verifier), "$argon2id$v=19$m=64,t=1,p=1$") || string(u.TOTPSecret) != string(r.srv.secret) {
		t.Fatalf("cached user: %+v %v", u, err)
	}
	online := r.clock.Now()

	// The server goes away: offline sign-in inside the window works, with a
	// new code...
	r.srv.setDown(true)
	r.clock.Advance(6 * 24 * time.Hour)
	r.nextStep()
	code := r.code()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, code); err != nil {
		t.Fatalf("offline inside the window: %v", err)
	}
	// ...but not the same code twice (replay), nor a wrong password.
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, code); !errors.Is(err, signin.ErrBadCredentials) {
		t.Fatalf("offline replay: %v", err)
	}
	r.clock.Advance(time.Second)
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", "wrong horse battery staple", r.code()); !errors.Is(err, signin.ErrBadCredentials) {
		t.Fatalf("offline wrong password: %v", err)
	}
	// After the window: refused with the sentence the lock screen shows.
	r.clock.Set(online.Add(7*24*time.Hour + time.Minute))
	r.nextStep()
	_, err = r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code())
	if !errors.Is(err, auth.ErrOfflineExpired) || !errors.Is(err, lane.ErrUnavailable) ||
		!strings.Contains(err.Error(), "Offline sign-in expired: connect to the practice network to sign in") {
		t.Fatalf("offline after the window: %v", err)
	}
	// Back online: the window restarts.
	r.srv.setDown(false)
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatalf("online again: %v", err)
	}
	r.srv.setDown(true)
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatalf("offline after the new online sign-in: %v", err)
	}
	// Failures: replay, wrong password, expired = 3 events; successes are
	// Service.Begin's to audit.
	if n := r.audits(lane.AuditSignIn, lane.OutcomeFailure); n != 3 {
		t.Fatalf("%d failure events, want 3", n)
	}
	if n := r.audits(lane.AuditSignIn, lane.OutcomeSuccess); n != 0 {
		t.Fatalf("the sign-in layer audited %d successes (Service.Begin does)", n)
	}
}

func TestOfflineUnknownUserAndNoServer(t *testing.T) {
	r := newRig(t)
	// A lane that is not enrolled verifies offline only; a login it has
	// never seen is "not accepted", audited without the typed name.
	a, err := signin.New(signin.Config{Store: r.db, Clock: r.clock, Lane: "Lane 1", PINHash: small})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SignIn(ctx, "my-secret-password", "x", "123456"); !errors.Is(err, signin.ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	evs, _ := r.db.ListAudit(ctx, lane.AuditFilter{})
	if len(evs) != 1 || evs[0].User != signin.UnknownUser || strings.Contains(evs[0].Detail, "my-secret-password") {
		t.Fatalf("audit %+v", evs)
	}
	// The unknown login is throttled like a known one.
	if _, err := a.SignIn(ctx, "my-secret-password", "x", "123456"); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("second try at once: %v", err)
	}
}

func TestLaneLockout(t *testing.T) {
	r := newRig(t)
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatal(err)
	}
	r.srv.setDown(true)
	start := r.clock.Now()
	// Nine failures, each after the required delay: 1 s, 2 s, 4 s ... 256 s.
	for i := 1; i <= 9; i++ {
		if _, err := r.auth.SignIn(ctx, "sam.lee", "wrong horse battery staple", r.code()); !errors.Is(err, signin.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
		d := auth.DefaultLockout().Delay(i)
		r.clock.Advance(d - time.Millisecond)
		_, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code())
		var te *auth.ThrottleError
		if !errors.As(err, &te) || te.RetryAfter != time.Millisecond {
			t.Fatalf("after failure %d, %v later: %v", i, d-time.Millisecond, err)
		}
		r.clock.Advance(time.Millisecond)
	}
	if got := r.clock.Now().Sub(start); got != 511*time.Second {
		t.Fatalf("nine delays took %v, want 511 s", got)
	}
	// The tenth locks the account on this lane: even the right password
	// and a fresh code are refused offline.
	if _, err := r.auth.SignIn(ctx, "sam.lee", "wrong horse battery staple", r.code()); !errors.Is(err, signin.ErrBadCredentials) {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour)
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); !errors.Is(err, auth.ErrAccountLocked) {
		t.Fatalf("locked account: %v", err)
	}
	// 10 failures + 9 throttled attempts + 1 refusal while locked.
	if n := r.audits(lane.AuditSignIn, lane.OutcomeFailure); n != 20 {
		t.Fatalf("%d failure events, want 20", n)
	}
	// An administrator resets it (a front-desk user may not).
	if err := r.auth.ResetLockout(ctx, lane.Actor{User: "fd", Roles: []lane.Role{lane.RoleFrontDesk}}, "sam.lee"); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("front desk reset: %v", err)
	}
	if err := r.auth.ResetLockout(ctx, lane.Actor{User: "adm", Roles: []lane.Role{lane.RoleAdmin}}, "sam.lee"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}

func TestOnlineSignInUnlocksTheLane(t *testing.T) {
	r := newRig(t)
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatal(err)
	}
	r.srv.setDown(true)
	for i := 1; i <= 10; i++ {
		r.auth.SignIn(ctx, "sam.lee", "nope nope nope", r.code())
		r.clock.Advance(auth.DefaultLockout().Delay(i))
	}
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); !errors.Is(err, auth.ErrAccountLocked) {
		t.Fatalf("locked: %v", err)
	}
	r.srv.setDown(false)
	r.clock.Advance(5 * time.Minute)
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatalf("online sign-in of a lane-locked account: %v", err)
	}
	st, _ := r.db.SignInState(ctx, "u-sam")
	if st.Locked || st.Failures != 0 {
		t.Fatalf("state after online sign-in: %+v", st)
	}
	// Server refusals count on the lane too.
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", "nope nope nope", r.code()); !errors.Is(err, signin.ErrBadCredentials) {
		t.Fatal(err)
	}
	if st, _ := r.db.SignInState(ctx, "u-sam"); st.Failures != 1 {
		t.Fatalf("server refusal not counted: %+v", st)
	}
}

func TestPIN(t *testing.T) {
	r := newRig(t)
	if err := r.auth.SetPIN(ctx, "u-sam", "4821"); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("PIN before sign-in: %v", err)
	}
	s, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.auth.Resume(ctx, s.User, "4821"); !errors.Is(err, signin.ErrNoPIN) {
		t.Fatalf("resume without a PIN: %v", err)
	}
	for _, bad := range []string{"12", "1234", "123456789", "12a4", "0000"} {
		if err := r.auth.SetPIN(ctx, s.User, bad); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("SetPIN(%q) = %v", bad, err)
		}
	}
	if err := r.auth.SetPIN(ctx, s.User, "4821"); err != nil {
		t.Fatal(err)
	}
	if err := r.auth.Resume(ctx, s.User, "4821"); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	if err := r.auth.Resume(ctx, "someone-else", "4821"); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("another user's resume: %v", err)
	}
	// Four wrong PINs, then the right one: the count starts again.
	for i := 0; i < 4; i++ {
		if err := r.auth.Resume(ctx, s.User, "9999"); !errors.Is(err, signin.ErrBadCredentials) {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if err := r.auth.Resume(ctx, s.User, "4821"); err != nil {
		t.Fatal(err)
	}
	// Five wrong PINs in a row void the PIN: a full sign-in is needed.
	for i := 1; i <= 5; i++ {
		err := r.auth.Resume(ctx, s.User, "9999")
		if i < 5 && !errors.Is(err, signin.ErrBadCredentials) || i == 5 && !errors.Is(err, signin.ErrPINLockedOut) {
			t.Fatalf("wrong PIN %d: %v", i, err)
		}
	}
	if err := r.auth.Resume(ctx, s.User, "4821"); !errors.Is(err, signin.ErrPINLockedOut) {
		t.Fatalf("right PIN after lockout: %v", err)
	}
	if n := r.audits(lane.AuditUnlock, lane.OutcomeFailure); n != 9 {
		t.Fatalf("%d wrong-PIN events, want 9", n)
	}
	// A new sign-in is a new shift: the PIN must be set again.
	r.nextStep()
	if _, err := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code()); err != nil {
		t.Fatal(err)
	}
	if err := r.auth.Resume(ctx, s.User, "4821"); !errors.Is(err, signin.ErrNoPIN) {
		t.Fatalf("PIN of the previous shift: %v", err)
	}
	// At the end of the shift the PIN stops working.
	r.auth.SetPIN(ctx, s.User, "4821")
	r.clock.Advance(12*time.Hour + time.Second)
	if err := r.auth.Resume(ctx, s.User, "4821"); !errors.Is(err, lane.ErrLocked) {
		t.Fatalf("PIN after the shift: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	r := newRig(t)
	s, _ := r.auth.SignIn(ctx, "sam.lee", r.srv.password, r.code())
	tok, err := r.auth.BearerToken(ctx, s.User)
	if err != nil || tok != "token-1" || r.srv.refresh != 0 {
		t.Fatalf("fresh token: %q %v", tok, err)
	}
	r.clock.Advance(11 * time.Minute) // 4 minutes left: refreshed
	if tok, err := r.auth.BearerToken(ctx, s.User); err != nil || tok != "token-1+" || r.srv.refresh != 1 {
		t.Fatalf("refreshed token: %q %v", tok, err)
	}
	r.clock.Advance(16 * time.Minute)
	if _, err := r.auth.BearerToken(ctx, s.User); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	r.auth.SignOut(s.User)
	if _, err := r.auth.BearerToken(ctx, s.User); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("after sign-out: %v", err)
	}
}
