package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/internal/passhash"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

// testParams keep Argon2id quick in tests; production uses passhash.Default.
var testParams = passhash.Params{Time: 1, MemoryKiB: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

const goodPassword = "correct horse battery staple"

// newAuthEnv is newEnv with sign-in options.
func newAuthEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	e := newEnv(t)
	srv, err := Open(e.dir, append([]Option{WithClock(e.clock), WithTimeZone(time.UTC), WithPasswordParams(testParams)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	e.ts.Config.Handler = srv.Handler()
	return e
}

// staffWithCredentials adds an account of tenant alpha with a login and
// credentials (goodPassword) and returns it with its TOTP secret.
func staffWithCredentials(t *testing.T, e *env, login string, roles ...lane.Role) (User, []byte) {
	t.Helper()
	ctx := context.Background()
	u, err := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "Test " + strings.ToUpper(login[:1]) + login[1:], Login: login, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.srv.SetCredentials(ctx, "alpha", u.ID, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Temporary || cr.Password != "" || !strings.HasPrefix(cr.URI, "otpauth://totp/Alpha%20Eye%20Care:"+login+"?") {
		t.Fatalf("credentials: %+v", cr)
	}
	return u, cr.Secret
}

func totpAt(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	c, err := auth.DefaultTOTP().Code(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// login posts to /auth/login and returns the status, the decoded body and
// the headers.
func (l *testLane) login(login, password, code string) (int, map[string]any, http.Header) {
	l.t.Helper()
	resp, b := l.do(http.MethodPost, "/auth/login", LoginRequest{Login: login, Password: password, TOTP: code}, "Content-Type", "application/json")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		l.t.Fatalf("login body %q: %v", b, err)
	}
	return resp.StatusCode, m, resp.Header
}

func TestLoginOnline(t *testing.T) {
	e := newAuthEnv(t)
	u, secret := staffWithCredentials(t, e, "sam.lee", lane.RoleOptometrist)
	l := e.enrol(t, "alpha")
	l.user = ""
	now := e.clock.Now()
	status, m, hdr := l.login("  Sam.Lee ", goodPassword, totpAt(t, secret, now))
	if status != http.StatusOK {
		t.Fatalf("login: %d %v", status, m)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Error("login answer may be cached")
	}
	b, _ := json.Marshal(m)
	var r LoginResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.UserID != u.ID || r.Display != "Test Sam.lee" || len(r.Roles) != 1 || r.Roles[0] != lane.RoleOptometrist || r.PasswordTemporary {
		t.Fatalf("response: %+v", r)
	}
	if r.TOTPStep != auth.DefaultTOTP().Step(now) {
		t.Errorf("totp_step %d, want %d", r.TOTPStep, auth.DefaultTOTP().Step(now))
	}
	if sec, err := auth.DecodeSecret(r.Offline.TOTPSecret); err != nil || !bytes.Equal(sec, secret) {
		t.Errorf("offline TOTP secret does not match: %v", err)
	}
	v := r.Offline.Verifier
	if v.Algorithm != "argon2id" || v.Time != testParams.Time || v.MemoryKiB != testParams.MemoryKiB || len(v.Salt) != 16 {
		t.Errorf("verifier params: %+v", v)
	}
	if r.Offline.TOTP != (TOTPParams{Algorithm: "SHA1", Digits: 6, Period: 30}) {
		t.Errorf("totp params: %+v", r.Offline.TOTP)
	}
	// The lane's verifier is not the server's hash: another salt.
	var phc []byte
	e.srv.db.r.QueryRow(`SELECT password_hash FROM staff WHERE id=?`, u.ID).Scan(&phc)
	_, pwSalt, _, _ := passhash.Parse(string(phc))
	if bytes.Equal(pwSalt, v.Salt) {
		t.Error("offline salt equals the server's password salt")
	}
	if r.TokenExpires.Sub(now) > TokenLifetime || r.TokenExpires.Sub(now) < TokenLifetime-time.Second {
		t.Errorf("token expires %v after now", r.TokenExpires.Sub(now))
	}
	claims, err := e.srv.verifyToken(r.Token, now)
	if err != nil || claims.User != u.ID || claims.Tenant != "alpha" || claims.Lane != l.id {
		t.Fatalf("token: %+v %v", claims, err)
	}
	// The TOTP secret is sealed in the database.
	var sealed []byte
	e.srv.db.r.QueryRow(`SELECT totp_secret FROM staff WHERE id=?`, u.ID).Scan(&sealed)
	if bytes.Contains(sealed, secret) {
		t.Error("TOTP secret stored in clear")
	}

	// Replay: the same code again is refused, even a second later.
	e.clock.Advance(time.Second)
	if status, m, _ := l.login("sam.lee", goodPassword, totpAt(t, secret, now)); status != http.StatusUnauthorized || m["error"] != "credentials" {
		t.Fatalf("replayed code: %d %v", status, m)
	}
	// The next step's code works, and the offline salt is stable.
	e.clock.Advance(30 * time.Second)
	status, m, _ = l.login("sam.lee", goodPassword, totpAt(t, secret, e.clock.Now()))
	if status != http.StatusOK {
		t.Fatalf("next code: %d %v", status, m)
	}
	b, _ = json.Marshal(m)
	var r2 LoginResponse
	json.Unmarshal(b, &r2)
	if !bytes.Equal(r2.Offline.Verifier.Salt, v.Salt) {
		t.Error("offline salt changed between sign-ins with the same password")
	}
}

// TestLoginNoEnumeration: every kind of wrong sign-in gets the same answer.
func TestLoginNoEnumeration(t *testing.T) {
	e := newAuthEnv(t)
	_, secret := staffWithCredentials(t, e, "ana.ruiz", lane.RoleTechnician)
	off, _ := staffWithCredentials(t, e, "left.staff", lane.RoleTechnician)
	if err := e.srv.DisableUser(context.Background(), "alpha", off.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.AddUser(context.Background(), User{Tenant: "alpha", Name: "No Creds", Login: "no.creds", Roles: []lane.Role{lane.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	l := e.enrol(t, "alpha")
	code := totpAt(t, secret, e.clock.Now())
	var first map[string]any
	for i, c := range [][3]string{
		{"nobody", goodPassword, code},
		{"ana.ruiz", "wrong horse battery staple", code},
		{"ana.ruiz", goodPassword, "000000"},
		{"ana.ruiz", goodPassword, "12"},
		{"left.staff", goodPassword, code},
		{"no.creds", goodPassword, code},
	} {
		e.clock.Advance(10 * time.Minute) // past any throttling
		status, m, _ := l.login(c[0], c[1], c[2])
		if status != http.StatusUnauthorized {
			t.Fatalf("%v: status %d", c[:1], status)
		}
		if i == 0 {
			first = m
		} else if m["error"] != first["error"] || m["message"] != first["message"] {
			t.Fatalf("%v answered %v, the unknown user %v", c[:1], m, first)
		}
	}
	if first["error"] != "credentials" {
		t.Fatalf("category %v", first["error"])
	}
	// Malformed requests are 400.
	resp, _ := l.do(http.MethodPost, "/auth/login", "{", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed: %d", resp.StatusCode)
	}
}

func TestLoginLockout(t *testing.T) {
	e := newAuthEnv(t, WithLockout(auth.LockoutPolicy{BaseDelay: time.Second, MaxDelay: time.Minute, Threshold: 3}))
	u, secret := staffWithCredentials(t, e, "kim.ng", lane.RoleOptician)
	l := e.enrol(t, "alpha")
	wrong := func(login string) {
		t.Helper()
		if status, m, _ := l.login(login, "not the password at all", "123456"); status != http.StatusUnauthorized {
			t.Fatalf("wrong password for %s: %d %v", login, status, m)
		}
	}
	throttled := func(login string, secs string) {
		t.Helper()
		status, m, h := l.login(login, goodPassword, totpAt(t, secret, e.clock.Now()))
		if status != http.StatusLocked || m["error"] != "throttled" || h.Get("Retry-After") != secs {
			t.Fatalf("%s: %d %v Retry-After %q, want 423 throttled %s", login, status, m, h.Get("Retry-After"), secs)
		}
	}
	wrong("kim.ng")
	throttled("kim.ng", "1") // even the right password waits: no oracle
	e.clock.Advance(time.Second)
	wrong("kim.ng")
	throttled("kim.ng", "2")
	e.clock.Advance(2 * time.Second)
	wrong("kim.ng") // third: locked
	e.clock.Advance(time.Hour)
	status, m, _ := l.login("kim.ng", goodPassword, totpAt(t, secret, e.clock.Now()))
	if status != http.StatusLocked || m["error"] != "locked" {
		t.Fatalf("locked account: %d %v", status, m)
	}
	// An unknown login is throttled the same way: lockout reveals nothing.
	wrong("no.such.person")
	throttled("no.such.person", "1")
	// The administrator unlocks; the right credentials then work.
	if err := e.srv.UnlockUser(context.Background(), "alpha", u.ID); err != nil {
		t.Fatal(err)
	}
	if status, m, _ := l.login("kim.ng", goodPassword, totpAt(t, secret, e.clock.Now())); status != http.StatusOK {
		t.Fatalf("after unlock: %d %v", status, m)
	}
	// A success clears the failure count.
	wrong("kim.ng")
	e.clock.Advance(time.Second)
	wrong("kim.ng")
	e.clock.Advance(30 * time.Second) // past the delay, and a new code
	if status, _, _ := l.login("kim.ng", goodPassword, totpAt(t, secret, e.clock.Now())); status != http.StatusOK {
		t.Fatalf("two failures after a success locked the account: %d", status)
	}
}

func TestLoginNeedsLaneCertificate(t *testing.T) {
	e := newAuthEnv(t)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}}
	resp, err := c.Post(e.ts.URL+"/auth/login", "application/json", strings.NewReader(`{"login":"x","password":"y","totp":"123456"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"error":"lane"`) {
		t.Fatalf("without a lane certificate: %d %s", resp.StatusCode, b)
	}
}

func TestUserTokens(t *testing.T) {
	e := newAuthEnv(t)
	u, secret := staffWithCredentials(t, e, "fay.desk", lane.RoleFrontDesk)
	l := e.enrol(t, "alpha")
	other := e.enrol(t, "alpha")
	l.user = ""
	_, m, _ := l.login("fay.desk", goodPassword, totpAt(t, secret, e.clock.Now()))
	tok, _ := m["token"].(string)
	bearer := func(tk string) []string { return []string{"Authorization", "Bearer " + tk} }
	l.must(http.StatusCreated, http.MethodPost, "/fhir/R4/Patient", patient("p-1", "Synthetic"), bearer(tok)...)

	bad := strings.Replace(tok, ".", ".x", 1)
	for name, c := range map[string]struct {
		l   *testLane
		hdr []string
	}{
		"tampered":       {l, bearer(bad)},
		"not bearer":     {l, []string{"Authorization", "Basic " + tok}},
		"other lane":     {other, bearer(tok)},
		"other user hdr": {l, append(bearer(tok), userHeader, "someone-else")},
	} {
		resp, _ := c.l.do(http.MethodPost, "/fhir/R4/Patient", patient("p-2", "Synthetic"), c.hdr...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	// The same user in the header is fine.
	l.must(http.StatusCreated, http.MethodPost, "/fhir/R4/Patient", patient("p-3", "Synthetic"), append(bearer(tok), userHeader, u.ID)...)

	// Refresh before expiry gives a token that outlives the first.
	e.clock.Advance(10 * time.Minute)
	_, rm := l.must(http.StatusOK, http.MethodPost, "/auth/refresh", nil, bearer(tok)...)
	tok2, _ := rm["token"].(string)
	e.clock.Advance(6 * time.Minute)
	if resp, _ := l.do(http.MethodPost, "/fhir/R4/Patient", patient("p-4", "Synthetic"), bearer(tok)...); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
	l.must(http.StatusCreated, http.MethodPost, "/fhir/R4/Patient", patient("p-5", "Synthetic"), bearer(tok2)...)
	if resp, _ := l.do(http.MethodPost, "/auth/refresh", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh without a token: %d", resp.StatusCode)
	}
	// A disabled user's token stops working at once.
	if err := e.srv.DisableUser(context.Background(), "alpha", u.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := l.do(http.MethodPost, "/fhir/R4/Patient", patient("p-6", "Synthetic"), bearer(tok2)...); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user's token: %d", resp.StatusCode)
	}
}

func TestSetCredentialsRules(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	u, err := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "Robin Park", Login: "robin.park", Roles: []lane.Role{lane.RoleTechnician}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"password1", "short", "robin.park2024", "Alpha Eye Care rocks"} {
		if _, err := e.srv.SetCredentials(ctx, "alpha", u.ID, pw); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("SetCredentials(%q) = %v, want ErrInvalid", pw, err)
		}
	}
	cr, err := e.srv.SetCredentials(ctx, "alpha", u.ID, "")
	if err != nil || !cr.Temporary || len(cr.Password) != 19 {
		t.Fatalf("temporary: %+v %v", cr, err)
	}
	if _, err := e.srv.SetCredentials(ctx, "alpha", "nobody", ""); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	nl, _ := e.srv.AddUser(ctx, User{Tenant: "alpha", Name: "No Login", Roles: []lane.Role{lane.RoleTechnician}})
	if _, err := e.srv.SetCredentials(ctx, "alpha", nl.ID, ""); !errors.Is(err, lane.ErrInvalid) {
		t.Errorf("no login: %v", err)
	}
	// The temporary password signs in and says it is temporary.
	l := e.enrol(t, "alpha")
	status, m, _ := l.login("robin.park", cr.Password, totpAt(t, cr.Secret, e.clock.Now()))
	if status != http.StatusOK || m["password_temporary"] != true {
		t.Fatalf("temporary sign-in: %d %v", status, m)
	}
}

func TestSeedDemoAccounts(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	if _, err := e.srv.SeedDemoAccounts(ctx, "alpha"); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("without demo data: %v", err)
	}
	if _, err := e.srv.Seed(ctx, "alpha", SeedOptions{Patients: 3, Appointments: 2, ImagePatients: 1, ImageWidth: 64, ImageHeight: 48}); err != nil {
		t.Fatal(err)
	}
	a, err := e.srv.SeedDemoAccounts(ctx, "alpha")
	if err != nil || len(a.Accounts) < 5 {
		t.Fatalf("demo accounts: %d, %v", len(a.Accounts), err)
	}
	file := filepath.Join(e.dir, DemoAccountsFile)
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", file, st.Mode(), err)
	}
	again, err := e.srv.SeedDemoAccounts(ctx, "alpha")
	if err != nil || again.Accounts[0].TOTPSecret != a.Accounts[0].TOTPSecret {
		t.Fatalf("a second run changed the secrets: %v", err)
	}
	acct := a.Accounts[0]
	secret, _ := auth.DecodeSecret(acct.TOTPSecret)
	l := e.enrol(t, "alpha")
	if status, m, _ := l.login(acct.Login, DemoPassword, totpAt(t, secret, e.clock.Now())); status != http.StatusOK {
		t.Fatalf("demo sign-in: %d %v", status, m)
	}
}

// TestSchemaUpgrade opens a version 1 database (no sign-in tables) and
// expects it upgraded in place.
func TestSchemaUpgrade(t *testing.T) {
	dir := t.TempDir()
	if err := Init(context.Background(), dir, InitOptions{Tenant: "alpha", Name: "Alpha Eye Care"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, dbFile), false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE staff_auth`, `DROP TABLE login_attempts`, `UPDATE meta SET value='1' WHERE key='schema'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v string
	var n int
	s.db.r.QueryRow(`SELECT value FROM meta WHERE key='schema'`).Scan(&v)
	s.db.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('staff_auth', 'login_attempts')`).Scan(&n)
	if v != schemaVersion || n != 2 {
		t.Fatalf("after upgrade: schema %s, %d sign-in tables", v, n)
	}
}
