package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/examlane/examlane/cmd/internal/passhash"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/lane/auth"
)

// Sign-in on the server (POST /auth/login, POST /auth/refresh): password
// (Argon2id) plus TOTP with replay protection and per-login lockout, over
// the lane's mutual TLS. A success returns a short-lived user token (HMAC
// signed, bound to the tenant and the lane) and the material the lane needs
// to verify the same person offline.

// TokenLifetime is the longest life of a user token.
const TokenLifetime = 15 * time.Minute

// Request limits of the sign-in endpoints.
const (
	maxLoginBody     = 8 << 10
	maxLoginLen      = 128
	maxPasswordBytes = 1024
)

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	TOTP     string `json:"totp"`
}

// VerifierParams tell the lane how to derive its own offline password
// verifier: Argon2id with these parameters and Salt (base64, standard
// padded), over the NFKC-normalised password.
type VerifierParams struct {
	Algorithm string `json:"algorithm"` // "argon2id"
	passhash.Params
	Salt []byte `json:"salt"`
}

// TOTPParams describe the user's authenticator codes.
type TOTPParams struct {
	Algorithm string `json:"algorithm"` // "SHA1"
	Digits    int    `json:"digits"`
	Period    int    `json:"period"` // seconds
}

// OfflineMaterial is what a lane keeps, sealed, to verify the user when
// the server cannot be reached. The TOTP secret travels only inside the
// lane's mutual TLS channel.
type OfflineMaterial struct {
	Verifier   VerifierParams `json:"verifier"`
	TOTPSecret string         `json:"totp_secret"` // base32
	TOTP       TOTPParams     `json:"totp"`
}

// LoginResponse is the body of a successful POST /auth/login.
type LoginResponse struct {
	UserID    string      `json:"user_id"`
	Login     string      `json:"login"`
	Display   string      `json:"display"`
	Roles     []lane.Role `json:"roles"`
	Locations []string    `json:"locations"`
	// Token is the bearer token for requests made for the user;
	// TokenExpires its expiry.
	Token        string    `json:"token"`
	TokenExpires time.Time `json:"token_expires"`
	// TOTPStep is the time step of the accepted code: the lane records it
	// so that the same code is refused offline too.
	TOTPStep int64 `json:"totp_step"`
	// PasswordTemporary is true while the password is the one an
	// administrator issued.
	PasswordTemporary bool            `json:"password_temporary"`
	Offline           OfflineMaterial `json:"offline"`
}

// RefreshResponse is the body of a successful POST /auth/refresh.
type RefreshResponse struct {
	Token        string    `json:"token"`
	TokenExpires time.Time `json:"token_expires"`
}

// AuthError is the body of a refused sign-in: Error is the category
// ("credentials", "locked", "throttled", "invalid", "token", "lane",
// "unavailable", "internal"), Message a
// sentence, RetryAfter seconds for "throttled". "credentials" is the same
// for an unknown user, a disabled one, a wrong password and a wrong or
// reused code.
type AuthError struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// errBadCredentials: the login, password or code was not accepted.
var errBadCredentials = errors.New("user name, password or code not accepted")

// authConfig is the server's sign-in configuration and keys.
type authConfig struct {
	params   passhash.Params
	lockout  auth.LockoutPolicy
	totp     auth.TOTP
	tokenTTL time.Duration

	tokenKey, totpKey, saltKey []byte
	hashSem                    chan struct{} // bounds concurrent Argon2id runs (memory)

	dummyOnce   sync.Once
	dummyPHC    string
	dummySecret []byte
}

// WithPasswordParams sets the Argon2id parameters of new password hashes
// and of lanes' offline verifiers (tests use small ones).
func WithPasswordParams(p passhash.Params) Option { return func(s *Server) { s.auth.params = p } }

// WithLockout sets the sign-in lockout policy.
func WithLockout(p auth.LockoutPolicy) Option { return func(s *Server) { s.auth.lockout = p } }

// WithTokenLifetime sets how long user tokens live (at most TokenLifetime).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.auth.tokenTTL = d } }

// initAuth fills defaults and derives the sign-in keys from the enrolment
// key (HMAC-SHA256 with distinct labels, so each key has one use).
func (s *Server) initAuth() {
	a := &s.auth
	if a.params == (passhash.Params{}) {
		a.params = passhash.Default
	}
	if a.lockout == (auth.LockoutPolicy{}) {
		a.lockout = auth.DefaultLockout()
	}
	a.totp = auth.DefaultTOTP()
	if a.tokenTTL <= 0 || a.tokenTTL > TokenLifetime {
		a.tokenTTL = TokenLifetime
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, s.enrolKey)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	a.tokenKey = derive("examlane/user-token/v1")
	a.totpKey = derive("examlane/totp-seal/v1")
	a.saltKey = derive("examlane/offline-salt/v1")
	a.hashSem = make(chan struct{}, 2)
}

// hash runs fn (an Argon2id computation) when one of the two slots is
// free, so that a burst of sign-ins cannot take gigabytes of memory.
func (s *Server) hash(ctx context.Context, fn func()) error {
	select {
	case s.auth.hashSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sign in: %w", unavailable(ctx.Err()))
	}
	defer func() { <-s.auth.hashSem }()
	fn()
	return nil
}

// dummy returns a password hash and TOTP secret matching nobody, verified
// for unknown logins so that they take as long as known ones.
func (s *Server) dummy() (string, []byte) {
	a := &s.auth
	a.dummyOnce.Do(func() {
		a.dummySecret = make([]byte, auth.SecretBytes)
		rand.Read(a.dummySecret)
		pw := make([]byte, 24)
		rand.Read(pw)
		a.dummyPHC, _ = passhash.Hash(base64.StdEncoding.EncodeToString(pw), a.params)
	})
	return a.dummyPHC, a.dummySecret
}

// sealTOTP encrypts a TOTP secret for the staff table (AES-256-GCM, the
// tenant and user id as associated data).
func (s *Server) sealTOTP(tenant, id string, secret []byte) ([]byte, error) {
	aead, err := newGCM(s.auth.totpKey)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, secret, []byte("totp\x00"+tenant+"\x00"+id)), nil
}

// openTOTP decrypts what sealTOTP wrote.
func (s *Server) openTOTP(tenant, id string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(s.auth.totpKey)
	if err != nil {
		return nil, err
	}
	b, err := aead.Open(nil, nil, sealed, []byte("totp\x00"+tenant+"\x00"+id))
	if err != nil {
		return nil, fmt.Errorf("totp secret of %s: %w", id, lane.ErrUnauthenticated)
	}
	return b, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(blk)
}

// normLogin is the form logins are compared and throttled in.
func normLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// staffCreds is one account's sign-in record.
type staffCreds struct {
	user      User
	phc       string
	secret    []byte
	lastStep  int64
	temporary bool
}

// credsByLogin loads the enabled account with credentials of a login;
// ErrNotFound when there is none.
func (s *Server) credsByLogin(ctx context.Context, tenant, login string) (staffCreds, error) {
	var c staffCreds
	var roles, locs string
	var phc, sealed []byte
	var last, temp sql.NullInt64
	err := s.db.r.QueryRowContext(ctx, `SELECT s.id, coalesce(s.login, ''), s.display_name, s.roles, s.locations, s.password_hash, s.totp_secret,
		a.totp_last_step, a.temporary FROM staff s LEFT JOIN staff_auth a ON a.tenant=s.tenant AND a.id=s.id
		WHERE s.tenant=? AND lower(s.login)=? AND s.disabled=0`, tenant, login).
		Scan(&c.user.ID, &c.user.Login, &c.user.Name, &roles, &locs, &phc, &sealed, &last, &temp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (phc == nil || sealed == nil)) {
		return c, fmt.Errorf("login: %w", lane.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("login: %w", unavailable(err))
	}
	c.user.Tenant = tenant
	c.user.Roles, c.user.Locations = splitRoles(roles), splitList(locs)
	c.phc, c.lastStep, c.temporary = string(phc), last.Int64, temp.Int64 != 0
	if c.secret, err = s.openTOTP(tenant, c.user.ID, sealed); err != nil {
		return c, err
	}
	return c, nil
}

func splitRoles(s string) []lane.Role {
	var out []lane.Role
	for _, r := range splitList(s) {
		out = append(out, lane.Role(r))
	}
	return out
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// attempts reads the failure record of a login.
func attemptsOf(ctx context.Context, q querier, tenant, login string) (auth.Attempts, error) {
	var a auth.Attempts
	var last int64
	err := q.QueryRowContext(ctx, `SELECT failures, last_failure, locked FROM login_attempts WHERE tenant=? AND login=?`, tenant, login).
		Scan(&a.Failures, &last, &a.Locked)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Attempts{}, nil
	}
	if err != nil {
		return a, fmt.Errorf("login attempts: %w", unavailable(err))
	}
	a.LastFailure = time.UnixMilli(last)
	return a, nil
}

// recordFailure counts a failed attempt for a login and returns the new
// record.
func (s *Server) recordFailure(ctx context.Context, tenant, login string) (auth.Attempts, error) {
	var a auth.Attempts
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = attemptsOf(ctx, tx, tenant, login); err != nil {
			return err
		}
		a = s.auth.lockout.Fail(a, s.clock.Now())
		_, err = tx.ExecContext(ctx, `INSERT INTO login_attempts(tenant, login, failures, last_failure, locked) VALUES(?,?,?,?,?)
			ON CONFLICT(tenant, login) DO UPDATE SET failures=excluded.failures, last_failure=excluded.last_failure, locked=excluded.locked`,
			tenant, login, a.Failures, a.LastFailure.UnixMilli(), a.Locked)
		return err
	})
	return a, err
}

// Login verifies a sign-in for the lane identified by id (the tenant comes
// from the lane's certificate). Errors: errBadCredentials, an error wrapping
// auth.ErrAccountLocked, or a *auth.ThrottleError.
func (s *Server) Login(ctx context.Context, id identity, req LoginRequest) (LoginResponse, error) {
	login := normLogin(req.Login)
	if login == "" || len(login) > maxLoginLen || len(req.Password) > maxPasswordBytes || !utf8.ValidString(req.Login) {
		return LoginResponse{}, lane.Invalidf("login: malformed request")
	}
	now := s.clock.Now()
	a, err := attemptsOf(ctx, s.db.r, id.Tenant, login)
	if err != nil {
		return LoginResponse{}, err
	}
	if err := s.auth.lockout.Check(a, now); err != nil {
		s.log.Info("auth login", "tenant", id.Tenant, "lane", id.Lane, "outcome", "refused", "why", err.Error())
		return LoginResponse{}, err
	}
	c, lookupErr := s.credsByLogin(ctx, id.Tenant, login)
	if lookupErr != nil && !errors.Is(lookupErr, lane.ErrNotFound) {
		return LoginResponse{}, lookupErr
	}
	phc, secret, last := c.phc, c.secret, c.lastStep
	if lookupErr != nil {
		phc, secret = s.dummy()
		last = math.MaxInt64 // nothing matches
	}
	var pwOK bool
	var pwErr error
	if err := s.hash(ctx, func() { pwOK, pwErr = passhash.Verify(phc, req.Password) }); err != nil {
		return LoginResponse{}, err
	}
	step, codeErr := s.auth.totp.Verify(secret, req.TOTP, now, last)
	ok := lookupErr == nil && pwErr == nil && pwOK && codeErr == nil
	if ok {
		// Claim the step: a concurrent sign-in with the same code loses.
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE staff_auth SET totp_last_step=? WHERE tenant=? AND id=? AND totp_last_step<?`,
				step, id.Tenant, c.user.ID, step)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errBadCredentials
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE tenant=? AND login=?`, id.Tenant, login)
			return err
		})
		if errors.Is(err, errBadCredentials) {
			ok = false
		} else if err != nil {
			return LoginResponse{}, fmt.Errorf("login: %w", unavailable(err))
		}
	}
	if !ok {
		a, err := s.recordFailure(ctx, id.Tenant, login)
		if err != nil {
			return LoginResponse{}, fmt.Errorf("login: %w", unavailable(err))
		}
		who := "unknown"
		if lookupErr == nil {
			who = c.user.ID
		}
		s.log.Info("auth login", "tenant", id.Tenant, "lane", id.Lane, "user", who, "outcome", "failure", "failures", a.Failures, "locked", a.Locked)
		return LoginResponse{}, errBadCredentials
	}
	tok, exp, err := s.issueToken(id.Tenant, c.user.ID, id.Lane, now)
	if err != nil {
		return LoginResponse{}, err
	}
	_, pwSalt, _, _ := passhash.Parse(c.phc)
	resp := LoginResponse{
		UserID: c.user.ID, Login: c.user.Login, Display: c.user.Name, Roles: c.user.Roles, Locations: c.user.Locations,
		Token: tok, TokenExpires: exp, TOTPStep: step, PasswordTemporary: c.temporary,
		Offline: OfflineMaterial{
			Verifier:   VerifierParams{Algorithm: "argon2id", Params: s.auth.params, Salt: s.offlineSalt(id.Tenant, c.user.ID, id.Lane, pwSalt)},
			TOTPSecret: auth.EncodeSecret(secret),
			TOTP:       TOTPParams{Algorithm: string(auth.SHA1), Digits: s.auth.totp.Digits, Period: int(s.auth.totp.Period / time.Second)},
		},
	}
	resp.Offline.Verifier.SaltLen = uint32(len(resp.Offline.Verifier.Salt))
	s.log.Info("auth login", "tenant", id.Tenant, "lane", id.Lane, "user", c.user.ID, "outcome", "success")
	return resp, nil
}

// offlineSalt is the salt of a lane's offline verifier: distinct per lane
// and per password (it changes when the password's own salt does), and
// stable otherwise, so a lane's cached verifier stays valid across
// sign-ins. It is derived, not stored.
func (s *Server) offlineSalt(tenant, user, laneID string, pwSalt []byte) []byte {
	m := hmac.New(sha256.New, s.auth.saltKey)
	for _, p := range [][]byte{[]byte(tenant), []byte(user), []byte(laneID), pwSalt} {
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{0})
		m.Write(p)
	}
	return m.Sum(nil)[:16]
}

// tokenClaims is the signed content of a user token.
type tokenClaims struct {
	Version  int    `json:"v"`
	Tenant   string `json:"t"`
	User     string `json:"u"`
	Lane     string `json:"l"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	ID       string `json:"jti"`
}

var b64url = base64.RawURLEncoding

// issueToken signs a user token for the lane: "v1.<claims>.<mac>", claims
// base64url JSON, mac base64url HMAC-SHA256 over "v1.<claims>".
func (s *Server) issueToken(tenant, user, laneID string, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.auth.tokenTTL).Truncate(time.Second)
	body, err := json.Marshal(tokenClaims{Version: 1, Tenant: tenant, User: user, Lane: laneID, IssuedAt: now.Unix(), Expires: exp.Unix(), ID: lane.NewID()})
	if err != nil {
		return "", time.Time{}, err
	}
	head := "v1." + b64url.EncodeToString(body)
	m := hmac.New(sha256.New, s.auth.tokenKey)
	m.Write([]byte(head))
	return head + "." + b64url.EncodeToString(m.Sum(nil)), exp, nil
}

// errBadToken: the bearer token is malformed, forged, expired or not this
// lane's, or its user is disabled. It answers 401.
var errBadToken = errors.New("user token not accepted (sign in again)")

// verifyToken checks a token's signature and expiry at now.
func (s *Server) verifyToken(tok string, now time.Time) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != "v1" || len(tok) > 2048 {
		return c, errBadToken
	}
	mac, err := b64url.DecodeString(parts[2])
	if err != nil {
		return c, errBadToken
	}
	m := hmac.New(sha256.New, s.auth.tokenKey)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if subtle.ConstantTimeCompare(m.Sum(nil), mac) != 1 {
		return c, errBadToken
	}
	body, err := b64url.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &c) != nil || c.Version != 1 {
		return c, errBadToken
	}
	if now.Unix() >= c.Expires {
		return c, fmt.Errorf("expired: %w", errBadToken)
	}
	return c, nil
}

// bearer applies an Authorization: Bearer token to the lane's identity:
// the token must be valid, this tenant's and this lane's, agree with
// X-Examlane-User when both are sent, and name an enabled account, whose
// roles the server then enforces on writes.
func (s *Server) bearer(ctx context.Context, id identity, header string) (identity, error) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return id, errBadToken
	}
	c, err := s.verifyToken(strings.TrimSpace(tok), s.clock.Now())
	if err != nil {
		return id, err
	}
	if c.Tenant != id.Tenant || c.Lane != id.Lane || (id.User != "" && id.User != c.User) {
		return id, errBadToken
	}
	var roles string
	var disabled bool
	err = s.db.r.QueryRowContext(ctx, `SELECT roles, disabled FROM staff WHERE tenant=? AND id=?`, c.Tenant, c.User).Scan(&roles, &disabled)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && disabled) {
		return id, errBadToken
	}
	if err != nil {
		return id, fmt.Errorf("user token: %w", unavailable(err))
	}
	id.User, id.Roles, id.Active, id.Authenticated = c.User, splitRoles(roles), true, true
	return id, nil
}

// handleLogin serves POST /auth/login.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, maxLoginBody)
	if err != nil {
		writeAuthError(w, err)
		return
	}
	var req LoginRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeAuthError(w, lane.Invalidf("login: %s", jsonErr(err)))
		return
	}
	resp, err := s.Login(r.Context(), callerOf(r.Context()), req)
	if err != nil {
		if status, _ := statusOf(err); status >= 500 {
			s.log.Error("auth login", "err", err)
		}
		writeAuthError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, "application/json", resp)
}

// handleRefresh serves POST /auth/refresh: a new token for the user of a
// still valid one.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	id := callerOf(r.Context())
	if !id.Authenticated {
		writeAuthError(w, errBadToken)
		return
	}
	tok, exp, err := s.issueToken(id.Tenant, id.User, id.Lane, s.clock.Now())
	if err != nil {
		writeAuthError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, "application/json", RefreshResponse{Token: tok, TokenExpires: exp})
}

// writeAuthError answers a refused sign-in: 401 credentials or token, 423
// locked or throttled (with Retry-After), 400 invalid, 503 unavailable.
func writeAuthError(w http.ResponseWriter, err error) {
	var te *auth.ThrottleError
	body := AuthError{Error: "credentials", Message: errBadCredentials.Error()}
	status := http.StatusUnauthorized
	switch {
	case errors.As(err, &te):
		secs := int(math.Ceil(te.RetryAfter.Seconds()))
		status, body = http.StatusLocked, AuthError{Error: "throttled", Message: te.Error(), RetryAfter: secs}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	case errors.Is(err, auth.ErrAccountLocked):
		status, body = http.StatusLocked, AuthError{Error: "locked", Message: auth.ErrAccountLocked.Error()}
	case errors.Is(err, errBadCredentials):
	case errors.Is(err, errBadToken):
		body = AuthError{Error: "token", Message: errBadToken.Error()}
	case errors.Is(err, errNoIdentity):
		body = AuthError{Error: "lane", Message: err.Error()}
	case errors.Is(err, lane.ErrInvalid):
		status, body = http.StatusBadRequest, AuthError{Error: "invalid", Message: err.Error()}
	case errors.Is(err, errTooLarge):
		status, body = http.StatusRequestEntityTooLarge, AuthError{Error: "invalid", Message: "request too large"}
	case errors.Is(err, lane.ErrUnavailable):
		status, body = http.StatusServiceUnavailable, AuthError{Error: "unavailable", Message: "the server is busy or unavailable; retry later"}
		w.Header().Set("Retry-After", "1")
	default:
		status, body = http.StatusInternalServerError, AuthError{Error: "internal", Message: "internal server error"}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, "application/json", body)
}
