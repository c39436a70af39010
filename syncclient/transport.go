package syncclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// maxBody bounds the bytes read from one response (images included).
const maxBody = 256 << 20

// TLSConfig returns the client TLS configuration for an enrolled lane: TLS
// 1.3 only, the lane's own certificate and key for mutual TLS, RootCAs
// holding only the practice CA received at enrolment, and a
// VerifyConnection check that the verified chain ends in a CA whose
// SubjectPublicKeyInfo hashes to the pin recorded at enrolment (it also runs
// on resumed connections).
func TLSConfig(e Enrollment) (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(e.CertPEM), []byte(e.KeyPEM))
	if err != nil {
		return nil, fmt.Errorf("syncclient: lane certificate and key: %w", err)
	}
	blk, _ := pem.Decode([]byte(e.CAPEM))
	if blk == nil {
		return nil, fmt.Errorf("syncclient: practice CA: no PEM certificate: %w", lane.ErrInvalid)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("syncclient: practice CA: %w", err)
	}
	pin := SPKIPin(ca)
	if e.CAPin != "" && subtle.ConstantTimeCompare([]byte(e.CAPin), []byte(pin)) != 1 {
		return nil, fmt.Errorf("syncclient: practice CA does not match the pin recorded at enrolment: %w", lane.ErrInvalid)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				if len(chain) > 0 && SPKIPin(chain[len(chain)-1]) == pin {
					return nil
				}
			}
			return errors.New("server certificate is not issued by the pinned practice CA")
		},
	}, nil
}

// SPKIPin returns the hex SHA-256 of a certificate's SubjectPublicKeyInfo.
func SPKIPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// newTransport builds the HTTP client for cfg.
func newHTTPClient(cfg Config) (*http.Client, error) {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient, nil
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("syncclient: server URL %q: %w", cfg.ServerURL, lane.ErrInvalid)
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.RequestTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.RequestTimeout,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	switch u.Scheme {
	case "https":
		if cfg.TLS == nil {
			return nil, fmt.Errorf("syncclient: https server without a TLS configuration (enrol the lane first): %w", lane.ErrInvalid)
		}
		tc := cfg.TLS.Clone()
		if tc.MinVersion < tls.VersionTLS13 {
			tc.MinVersion = tls.VersionTLS13
		}
		tr.TLSClientConfig = tc
	case "http":
		if !cfg.Insecure {
			return nil, fmt.Errorf("syncclient: plain-HTTP server URL refused (Insecure is not set): %w", lane.ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("syncclient: server URL scheme %q: %w", u.Scheme, lane.ErrInvalid)
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// HTTPError is a non-success answer from the server. It unwraps to the lane
// sentinel the status stands for: 404/410 lane.ErrNotFound, 409/412
// lane.ErrConflict, 400/422 lane.ErrInvalid, 401/403 lane.ErrForbidden, 5xx
// and 429 lane.ErrUnavailable.
type HTTPError struct {
	Op     string
	Status int
	// Diagnostics is the OperationOutcome's text, cut short; servers must
	// not put patient data there.
	Diagnostics string
}

// Error describes the refused request.
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("syncclient: %s: server answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Diagnostics != "" {
		s += ": " + e.Diagnostics
	}
	return s
}

// Unwrap returns the lane sentinel for the status.
func (e *HTTPError) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound || e.Status == http.StatusGone:
		return lane.ErrNotFound
	case e.Status == http.StatusConflict || e.Status == http.StatusPreconditionFailed:
		return lane.ErrConflict
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return lane.ErrForbidden
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return lane.ErrUnavailable
	}
	return lane.ErrInvalid
}

// transient reports whether err means "try again later" (server or network
// down, timeout) rather than a problem with the request.
func transient(err error) bool {
	return errors.Is(err, lane.ErrUnavailable)
}

// request is one HTTP exchange.
type request struct {
	op          string // for errors: "push Observation"
	method, url string
	body        []byte
	contentType string
	accept      string
	header      map[string]string
	user        lane.UserID
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do performs one request with the per-request timeout, translating
// failures: network errors and timeouts wrap lane.ErrUnavailable, non-2xx
// answers are *HTTPError. It feeds the circuit breaker. A request made for
// a user carries X-Examlane-User and, when Config.Tokens has one, the
// user's bearer token; a token the server refuses (401: it expired on the
// way) is dropped and the request sent once more without it, as a change
// made offline would be.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	token := c.token(ctx, r.user)
	resp, err := c.send(ctx, r, token)
	var he *HTTPError
	if token != "" && errors.As(err, &he) && he.Status == http.StatusUnauthorized {
		c.cfg.Logf("sync: the server refused a user token; sending as the lane")
		resp, err = c.send(ctx, r, "")
	}
	return resp, err
}

// token returns the bearer token for user, "" when there is none.
func (c *Client) token(ctx context.Context, user lane.UserID) string {
	if user == "" || c.cfg.Tokens == nil {
		return ""
	}
	t, err := c.cfg.Tokens(ctx, user)
	if err != nil {
		return ""
	}
	return t
}

// send performs one HTTP exchange of do.
func (c *Client) send(ctx context.Context, r request, token string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("syncclient: %s: %w", r.op, lane.ErrInvalid)
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = fhirJSON
		}
		req.Header.Set("Content-Type", ct)
	}
	accept := r.accept
	if accept == "" {
		accept = fhirJSON
	}
	req.Header.Set("Accept", accept)
	if r.user != "" {
		req.Header.Set("X-Examlane-User", string(r.user))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.br.failure()
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return nil, fmt.Errorf("syncclient: %s: %w", r.op, ctx.Err())
		}
		return nil, fmt.Errorf("syncclient: %s: %w: %s", r.op, lane.ErrUnavailable, netReason(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		c.br.failure()
		return nil, fmt.Errorf("syncclient: %s: %w: connection lost while reading the answer", r.op, lane.ErrUnavailable)
	}
	out := &response{status: resp.StatusCode, header: resp.Header, body: data}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		c.br.failure()
	} else {
		c.br.success()
	}
	if resp.StatusCode >= 300 {
		return out, &HTTPError{Op: r.op, Status: resp.StatusCode, Diagnostics: diagnostics(data)}
	}
	return out, nil
}

const fhirJSON = "application/fhir+json"

// netReason describes a transport failure in words without URLs or ids.
func netReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "certificate"), strings.Contains(err.Error(), "tls:"),
		strings.Contains(err.Error(), "pinned practice CA"):
		return "TLS failure (certificate not trusted or not accepted)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "reset"),
		strings.Contains(err.Error(), "EOF"):
		return "connection dropped"
	}
	return "network error"
}

// diagnostics returns the first OperationOutcome diagnostics, cut to 200
// characters.
func diagnostics(body []byte) string {
	var oo fhir.OperationOutcome
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return ""
	}
	for _, i := range oo.Issue {
		if d := strings.TrimSpace(i.Diagnostics); d != "" {
			if len(d) > 200 {
				d = d[:200]
			}
			return d
		}
	}
	return ""
}

// etagVersion returns the version in an ETag (W/"3" → 3).
func etagVersion(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}

// weakETag formats a version as a weak ETag.
func weakETag(v string) string { return `W/"` + v + `"` }

// fhirURL returns the absolute URL of a FHIR path ("Patient/1", "Observation?x=y").
func (c *Client) fhirURL(path string) string {
	return c.origin + c.cfg.FHIRBase + "/" + path
}

// sameOrigin reports whether u points at the configured server, so that
// paging links never send the lane's certificate or data elsewhere.
func (c *Client) sameOrigin(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	return p.Scheme+"://"+p.Host == c.origin
}
