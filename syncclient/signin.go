package syncclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// The lane's online sign-in: POST /auth/login over the lane's mutual TLS
// (password and TOTP code verified by the practice server) and POST
// /auth/refresh for a new user token. Names here start with SignIn or Auth
// to stay apart from the sync engine's.

// SignInConfig configures a SignInClient: the server and the lane's TLS
// configuration (Enrollment.Config gives both).
type SignInConfig struct {
	ServerURL string
	TLS       *tls.Config
	// Insecure permits a plain-HTTP ServerURL (loopback tests only).
	Insecure bool
	// HTTPClient replaces the client built from TLS (tests).
	HTTPClient *http.Client
	// Timeout bounds one request (10 s): a lane must fall back to offline
	// sign-in quickly when the server is away.
	Timeout time.Duration
}

// SignInClient performs online sign-ins. It is safe for concurrent use.
type SignInClient struct {
	http    *http.Client
	origin  string
	timeout time.Duration
}

// NewSignInClient returns a client for cfg.
func NewSignInClient(cfg SignInConfig) (*SignInClient, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("syncclient: sign-in server URL %q: %w", cfg.ServerURL, lane.ErrInvalid)
	}
	hc, err := newHTTPClient(Config{ServerURL: cfg.ServerURL, TLS: cfg.TLS, Insecure: cfg.Insecure, HTTPClient: cfg.HTTPClient, RequestTimeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	return &SignInClient{http: hc, origin: u.Scheme + "://" + u.Host, timeout: cfg.Timeout}, nil
}

// AuthVerifier says how the lane derives its offline password verifier:
// Argon2id with these parameters and Salt over the NFKC-normalised
// password.
type AuthVerifier struct {
	Algorithm string `json:"algorithm"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	KeyLen    uint32 `json:"key_len"`
	SaltLen   uint32 `json:"salt_len"`
	Salt      []byte `json:"salt"`
}

// AuthTOTP describes the user's authenticator codes.
type AuthTOTP struct {
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period"`
}

// AuthOffline is the material for offline sign-in; the lane must seal it
// at rest.
type AuthOffline struct {
	Verifier   AuthVerifier `json:"verifier"`
	TOTPSecret string       `json:"totp_secret"` // base32
	TOTP       AuthTOTP     `json:"totp"`
}

// AuthResult is a successful online sign-in.
type AuthResult struct {
	UserID            lane.UserID `json:"user_id"`
	Login             string      `json:"login"`
	Display           string      `json:"display"`
	Roles             []lane.Role `json:"roles"`
	Locations         []string    `json:"locations"`
	Token             string      `json:"token"`
	TokenExpires      time.Time   `json:"token_expires"`
	TOTPStep          int64       `json:"totp_step"`
	PasswordTemporary bool        `json:"password_temporary"`
	Offline           AuthOffline `json:"offline"`
}

// AuthToken is a refreshed user token.
type AuthToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"token_expires"`
}

// Categories of refused sign-ins.
var (
	// ErrAuthRejected: the user name, password or code was not accepted
	// (the server never says which).
	ErrAuthRejected = errors.New("user name, password or code not accepted")
	// ErrAuthThrottled: too many recent failures; wait AuthError.RetryAfter.
	ErrAuthThrottled = errors.New("too many failed sign-ins: wait before trying again")
	// ErrAuthLocked: the account is locked on the server.
	ErrAuthLocked = errors.New("account locked after too many failed sign-ins")
)

// AuthError is a refused sign-in or refresh. It unwraps to ErrAuthRejected,
// ErrAuthThrottled or ErrAuthLocked, or to a lane sentinel: 400
// lane.ErrInvalid, a refused lane certificate or token lane.ErrForbidden,
// 5xx lane.ErrUnavailable.
type AuthError struct {
	Status     int
	Category   string
	Message    string
	RetryAfter time.Duration
}

// Error describes the refusal.
func (e *AuthError) Error() string {
	s := fmt.Sprintf("syncclient: sign in: server answered %d", e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the category's error.
func (e *AuthError) Unwrap() error {
	switch {
	case e.Category == "credentials":
		return ErrAuthRejected
	case e.Category == "throttled":
		return ErrAuthThrottled
	case e.Category == "locked":
		return ErrAuthLocked
	case e.Status >= 500 || e.Status == http.StatusTooManyRequests:
		return lane.ErrUnavailable
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return lane.ErrForbidden
	}
	return lane.ErrInvalid
}

// SignIn asks the server to verify a sign-in. Network failures and server
// errors wrap lane.ErrUnavailable (the caller may then verify offline);
// refusals are *AuthError.
func (c *SignInClient) SignIn(ctx context.Context, login, password, totp string) (AuthResult, error) {
	body, err := json.Marshal(map[string]string{"login": login, "password": password, "totp": totp})
	if err != nil {
		return AuthResult{}, err
	}
	b, err := c.post(ctx, "/auth/login", body, "")
	if err != nil {
		return AuthResult{}, err
	}
	return decodeAuthResult(b)
}

// Refresh exchanges a valid user token for a new one.
func (c *SignInClient) Refresh(ctx context.Context, token string) (AuthToken, error) {
	b, err := c.post(ctx, "/auth/refresh", []byte("{}"), token)
	if err != nil {
		return AuthToken{}, err
	}
	var t AuthToken
	if err := json.Unmarshal(b, &t); err != nil || t.Token == "" || t.Expires.IsZero() {
		return AuthToken{}, fmt.Errorf("syncclient: refresh: malformed answer: %w", lane.ErrInvalid)
	}
	return t, nil
}

func (c *SignInClient) post(ctx context.Context, path string, body []byte, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.origin+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("syncclient: sign in: %w", lane.ErrInvalid)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("syncclient: sign in: %w", ctx.Err())
		}
		return nil, fmt.Errorf("syncclient: sign in: %w: %s", lane.ErrUnavailable, netReason(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("syncclient: sign in: %w: connection lost while reading the answer", lane.ErrUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		e := &AuthError{Status: resp.StatusCode}
		var ae struct {
			Error      string `json:"error"`
			Message    string `json:"message"`
			RetryAfter int    `json:"retry_after"`
		}
		if json.Unmarshal(b, &ae) == nil {
			e.Category, e.Message = ae.Error, truncateText(ae.Message, 200)
			e.RetryAfter = time.Duration(ae.RetryAfter) * time.Second
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && e.RetryAfter == 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e
	}
	return b, nil
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// decodeAuthResult reads and checks a sign-in answer: a user, known roles,
// a token, a base32 TOTP secret and sane verifier parameters.
func decodeAuthResult(b []byte) (AuthResult, error) {
	var r AuthResult
	bad := func(why string) (AuthResult, error) {
		return AuthResult{}, fmt.Errorf("syncclient: sign in: malformed answer (%s): %w", why, lane.ErrInvalid)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return bad("not JSON")
	}
	if r.UserID == "" || r.Login == "" || r.Token == "" || r.TokenExpires.IsZero() {
		return bad("missing user or token")
	}
	if len(r.Roles) == 0 {
		return bad("no roles")
	}
	for _, role := range r.Roles {
		if _, err := lane.ParseRole(string(role)); err != nil {
			return bad("unknown role")
		}
	}
	v := r.Offline.Verifier
	if v.Algorithm != "argon2id" || v.Time < 1 || v.Time > 16 || v.MemoryKiB < 8 || v.MemoryKiB > 1<<20 ||
		v.Threads < 1 || v.Threads > 16 || v.KeyLen < 16 || v.KeyLen > 64 || len(v.Salt) < 8 || len(v.Salt) > 64 {
		return bad("verifier parameters")
	}
	secret := strings.ToUpper(strings.TrimRight(r.Offline.TOTPSecret, "="))
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil || len(raw) < 16 {
		return bad("TOTP secret")
	}
	if t := r.Offline.TOTP; t.Algorithm != "SHA1" || t.Digits != 6 || t.Period != 30 {
		return bad("TOTP parameters other than SHA1, 6 digits, 30 s")
	}
	return r, nil
}
