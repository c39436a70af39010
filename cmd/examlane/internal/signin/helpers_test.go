package signin_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/examlane/examlane/cmd/examlane/internal/signin"
	"github.com/examlane/examlane/cmd/internal/passhash"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
	"github.com/examlane/examlane/lane/lanetest"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/localdb/keychain"
	"github.com/examlane/examlane/syncclient"
)

var ctx = context.Background()

// small keeps Argon2id quick in the unit tests; the end-to-end test uses
// the production parameters.
var small = passhash.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

var mockOnce sync.Once

// openDB opens a real lane database in a temporary directory, its key in
// go-keyring's in-memory mock.
func openDB(t *testing.T, clock lane.Clock) *localdb.DB {
	t.Helper()
	mockOnce.Do(keyring.MockInit)
	k := keychain.New()
	k.SkipBusCheck = true
	db, err := localdb.Open(ctx, localdb.Config{Path: filepath.Join(t.TempDir(), localdb.FileName), Tenant: "alpha",
		Clock: clock, Keychain: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fakeServer is an in-memory practice server: one account, the real TOTP
// rules, and switches for being down or refusing.
type fakeServer struct {
	mu       sync.Mutex
	clock    lane.Clock
	down     bool
	lastStep int64
	calls    int
	refresh  int
	user     syncclient.AuthResult
	password string
	secret   []byte
}

func newFakeServer(clock lane.Clock) *fakeServer {
	secret := []byte("12345678901234567890")
	return &fakeServer{clock: clock, password: "correct horse battery staple", secret: secret, user: syncclient.AuthResult{
		UserID: "u-sam", Login: "sam.lee", Display: "Sam Lee", Roles: []lane.Role{lane.RoleOptometrist},
		Offline: syncclient.AuthOffline{
			Verifier:   syncclient.AuthVerifier{Algorithm: "argon2id", Time: small.Time, MemoryKiB: small.MemoryKiB, Threads: small.Threads, KeyLen: small.KeyLen, Salt: []byte("lane-salt-16byte")},
			TOTPSecret: auth.EncodeSecret(secret), TOTP: syncclient.AuthTOTP{Algorithm: "SHA1", Digits: 6, Period: 30}}}}
}

func (f *fakeServer) SignIn(_ context.Context, login, password, code string) (syncclient.AuthResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return syncclient.AuthResult{}, lane.ErrUnavailable
	}
	now := f.clock.Now()
	step, err := auth.DefaultTOTP().Verify(f.secret, code, now, f.lastStep)
	if strings.ToLower(strings.TrimSpace(login)) != f.user.Login || password != f.password || err != nil {
		return syncclient.AuthResult{}, &syncclient.AuthError{Status: 401, Category: "credentials"}
	}
	f.lastStep = step
	r := f.user
	r.TOTPStep, r.Token, r.TokenExpires = step, "token-1", now.Add(15*time.Minute)
	return r, nil
}

func (f *fakeServer) Refresh(_ context.Context, token string) (syncclient.AuthToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh++
	return syncclient.AuthToken{Token: token + "+", Expires: f.clock.Now().Add(15 * time.Minute)}, nil
}

func (f *fakeServer) setDown(d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = d
}

// rig is a lane: database, clock, fake server and authenticator.
type rig struct {
	t     *testing.T
	clock *lanetest.ManualClock
	db    *localdb.DB
	srv   *fakeServer
	auth  *signin.Authenticator
}

func newRig(t *testing.T) *rig {
	t.Helper()
	clock := lanetest.NewManualClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	r := &rig{t: t, clock: clock, db: openDB(t, clock), srv: newFakeServer(clock)}
	a, err := signin.New(signin.Config{Store: r.db, Server: r.srv, Clock: clock, Lane: "Lane 1", PINHash: small})
	if err != nil {
		t.Fatal(err)
	}
	r.auth = a
	return r
}

// code returns the current TOTP code of the account.
func (r *rig) code() string {
	c, err := auth.DefaultTOTP().Code(r.srv.secret, r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// nextStep moves the clock to the start of the next TOTP step.
func (r *rig) nextStep() {
	now := r.clock.Now()
	r.clock.Set(now.Truncate(30 * time.Second).Add(30 * time.Second))
}

// audits counts the audit events of action and outcome.
func (r *rig) audits(action lane.AuditAction, outcome lane.AuditOutcome) int {
	r.t.Helper()
	evs, err := r.db.ListAudit(ctx, lane.AuditFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action == action && e.Outcome == outcome {
			n++
		}
	}
	return n
}
