package syncclient

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// Config configures a Client. Store, Clock and ServerURL are required.
type Config struct {
	Store Store
	// Clock tells the time. When it also has an After(time.Duration) <-chan
	// time.Time method (synctest.Clock does), the client waits on it, so
	// tests control back-off; otherwise it uses real timers.
	Clock lane.Clock
	// Jitter returns a number in [0, 1) for back-off jitter; math/rand when
	// nil.
	Jitter func() float64

	// ServerURL is the practice server's origin, e.g. https://10.0.0.5:8443.
	ServerURL string
	// FHIRBase and DICOMwebBase are the paths of the two APIs; /fhir/R4 and
	// /dicomweb by default.
	FHIRBase     string
	DICOMwebBase string
	// TLS is the client TLS configuration (TLSConfig of the enrolment).
	TLS *tls.Config
	// Insecure permits a plain-HTTP ServerURL (interoperability tests on
	// 127.0.0.1 only). It never disables certificate checks.
	Insecure bool
	// HTTPClient replaces the HTTP client built from TLS (tests).
	HTTPClient *http.Client

	// LaneID is the lane's device id from enrolment (the Provenance device
	// agent); LaneName its human name.
	LaneID   string
	LaneName string
	// Location is the server id of the practice location whose schedule
	// this lane shows; empty pulls every location's schedule.
	Location string
	// LookAheadDays extends the pre-fetch beyond today.
	LookAheadDays int
	// MRNSystem is the practice's MRN identifier system (fhir.Mapper).
	MRNSystem string
	// FetchImages downloads image bytes when the store can keep them.
	FetchImages bool

	// Interval is the time between cycles when all is well (30 s).
	Interval time.Duration
	// RequestTimeout bounds each request (20 s); CycleTimeout a whole
	// cycle (5 min).
	RequestTimeout time.Duration
	CycleTimeout   time.Duration
	// BackoffBase and BackoffMax bound the retry delay after a failed cycle
	// (1 s doubling to 5 min).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// PushBatch is how many outbox entries are read at a time (500).
	PushBatch int
	// Tokens returns the bearer token of a signed-in user (cmd wires the
	// sign-in layer's BearerToken); nil, or an error (lane.ErrNotFound:
	// signed out, signed in offline, token expired), sends the user's
	// changes without one. It is asked before every request, so a retry
	// carries a fresh token.
	Tokens func(ctx context.Context, user lane.UserID) (string, error)

	// Logf receives one line per notable event; never patient data.
	Logf func(format string, args ...any)
	// OnProgress receives pull progress 0..1 (also in Status().Progress).
	OnProgress func(float64)
}

func (cfg *Config) defaults() error {
	if cfg.Store == nil || cfg.Clock == nil || cfg.ServerURL == "" {
		return fmt.Errorf("syncclient: Store, Clock and ServerURL are required: %w", lane.ErrInvalid)
	}
	if cfg.FHIRBase == "" {
		cfg.FHIRBase = "/fhir/R4"
	}
	if cfg.DICOMwebBase == "" {
		cfg.DICOMwebBase = "/dicomweb"
	}
	cfg.FHIRBase = "/" + strings.Trim(cfg.FHIRBase, "/")
	cfg.DICOMwebBase = "/" + strings.Trim(cfg.DICOMwebBase, "/")
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Interval, 30*time.Second)
	def(&cfg.RequestTimeout, 20*time.Second)
	def(&cfg.CycleTimeout, 5*time.Minute)
	def(&cfg.BackoffBase, time.Second)
	def(&cfg.BackoffMax, 5*time.Minute)
	if cfg.PushBatch <= 0 {
		cfg.PushBatch = 500
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return nil
}

// Client synchronises one lane with the practice server. Run drives it;
// Status, Subscribe, Kick and ResolveConflict may be called from any
// goroutine and never block on the network.
type Client struct {
	cfg    Config
	http   *http.Client
	origin string
	mapper fhir.Mapper
	br     breaker
	after  func(time.Duration) <-chan time.Time
	kick   chan struct{}
	raw    *rawCache

	ownMu sync.Mutex
	own   map[string]struct{} // Type/id/version this lane wrote; guarded by ownMu

	cycleMu sync.Mutex // one cycle at a time
	caps    capabilities

	mu     sync.Mutex // guards status and subs
	status lane.SyncStatus
	subs   map[chan lane.SyncStatus]struct{}
}

// New returns a client for cfg; it starts nothing.
func New(cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	hc, err := newHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.ServerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("syncclient: server URL %q: %w", cfg.ServerURL, lane.ErrInvalid)
	}
	c := &Client{
		cfg: cfg, http: hc, origin: u.Scheme + "://" + u.Host, mapper: fhir.Mapper{MRNSystem: cfg.MRNSystem},
		br: breaker{threshold: 3}, kick: make(chan struct{}, 1), raw: newRawCache(20000),
		subs: map[chan lane.SyncStatus]struct{}{}, status: lane.SyncStatus{Progress: -1}, own: map[string]struct{}{},
	}
	if a, ok := cfg.Clock.(interface {
		After(time.Duration) <-chan time.Time
	}); ok {
		c.after = a.After
	} else {
		c.after = time.After
	}
	return c, nil
}

// Run synchronises until ctx ends: a cycle (push, then pull) every
// Interval, sooner after Kick, and after a failure again with exponential
// back-off and jitter. It returns nil when ctx is cancelled.
func (c *Client) Run(ctx context.Context) error {
	bo := backoff{base: c.cfg.BackoffBase, max: c.cfg.BackoffMax, jitter: c.cfg.Jitter}
	for {
		err := c.SyncNow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := c.cfg.Interval
		if err != nil && (transient(err) || errors.Is(err, context.DeadlineExceeded)) {
			wait = bo.next()
			c.cfg.Logf("sync: cycle failed, next try in %s: %s", wait.Round(time.Millisecond), describe(err))
		} else {
			bo.reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-c.after(wait):
		}
	}
}

// Kick asks Run for a cycle now. It never blocks.
func (c *Client) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// SyncNow runs one cycle (push the outbox, then pull) and returns its first
// error. Concurrent calls (and Run) take turns.
func (c *Client) SyncNow(ctx context.Context) error {
	c.cycleMu.Lock()
	defer c.cycleMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CycleTimeout)
	defer cancel()
	err := c.cycle(ctx)
	c.finishCycle(ctx, err)
	return err
}

func (c *Client) cycle(ctx context.Context) error {
	if c.br.open() || !c.caps.known {
		// One small request decides whether the server is back (the
		// half-open probe) and what it supports.
		if err := c.probe(ctx); err != nil {
			return err
		}
	}
	perr := c.push(ctx)
	if perr != nil && transient(perr) {
		return perr
	}
	if err := c.pull(ctx); err != nil {
		return err
	}
	return perr
}

// finishCycle records the outcome in the status.
func (c *Client) finishCycle(ctx context.Context, err error) {
	queued, conflicts := c.counts(context.WithoutCancel(ctx))
	c.update(func(s *lane.SyncStatus) {
		s.Queued, s.Conflicts, s.Progress = queued, conflicts, -1
		switch {
		case err == nil:
			s.Online, s.LastSuccess, s.LastError = true, c.cfg.Clock.Now(), ""
		case transient(err) || errors.Is(err, context.DeadlineExceeded):
			s.Online, s.LastError = false, describe(err)
		default:
			s.Online, s.LastError = !c.br.open(), describe(err)
		}
	})
}

// counts returns the undelivered changes and open conflicts.
func (c *Client) counts(ctx context.Context) (queued, conflicts int) {
	if pc, ok := c.cfg.Store.(pendingCounter); ok {
		queued, _ = pc.PendingCount(ctx)
	} else if p, err := c.cfg.Store.PendingChanges(ctx, 0); err == nil {
		queued = len(p)
	}
	if cs, err := c.cfg.Store.Conflicts(ctx, false); err == nil {
		conflicts = len(cs)
	}
	return queued, conflicts
}

// Status returns a snapshot of the sync state.
func (c *Client) Status() lane.SyncStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Subscribe returns a channel that receives the status after every change
// (the latest one when the reader is slow; nothing is queued behind it) and
// a function that ends the subscription.
func (c *Client) Subscribe() (<-chan lane.SyncStatus, func()) {
	ch := make(chan lane.SyncStatus, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	ch <- c.status
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}
}

// update changes the status and notifies subscribers without blocking.
func (c *Client) update(fn func(*lane.SyncStatus)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.status)
	for ch := range c.subs {
		select {
		case <-ch: // drop the stale value
		default:
		}
		ch <- c.status
	}
}

func (c *Client) progress(p float64) {
	c.update(func(s *lane.SyncStatus) { s.Progress = p })
	if c.cfg.OnProgress != nil {
		c.cfg.OnProgress(p)
	}
}

// Describe turns a sync error into words for a person: what failed, with no
// URLs, ids or patient data. The status bar's LastError uses it.
func Describe(err error) string { return describe(err) }

// Ping checks that the server answers this lane: one authenticated search
// that returns no records (so the lane certificate and the pinned CA are
// exercised, not only the network).
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.do(ctx, request{op: "ping server", method: http.MethodGet, url: c.fhirURL("Location?_count=0")})
	return err
}

func describe(err error) string {
	var he *HTTPError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &he):
		return fmt.Sprintf("server refused a request (%d %s)", he.Status, http.StatusText(he.Status))
	case errors.Is(err, context.DeadlineExceeded):
		return "sync took too long and was stopped"
	case transient(err):
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			return "server unreachable: " + msg[i+2:]
		}
		return "server unreachable"
	case errors.Is(err, lane.ErrInvalid):
		return "a record could not be sent or read (invalid data)"
	}
	return "sync failed"
}

// capabilities is what the server said it supports.
type capabilities struct {
	known        bool
	transactions bool
	history      map[string]bool // type-level _history per resource type
}

// probe asks for the CapabilityStatement: it proves the server is there and
// learns whether it does transactions and type history. A server whose
// /metadata is not a CapabilityStatement is assumed to do transactions and
// no history (the client falls back if a transaction is refused).
func (c *Client) probe(ctx context.Context) error {
	resp, err := c.do(ctx, request{op: "probe server", method: http.MethodGet, url: c.fhirURL("metadata")})
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) || transient(err) {
			return err
		}
	}
	caps := capabilities{known: true, transactions: true, history: map[string]bool{}}
	var cs fhir.CapabilityStatement
	if resp != nil && resp.status == http.StatusOK && json.Unmarshal(resp.body, &cs) == nil && cs.ResourceType == "CapabilityStatement" {
		caps.transactions = cs.Supports("", "transaction")
		for _, t := range fhir.ResourceTypes {
			caps.history[t] = cs.Supports(t, "history-type")
		}
	}
	c.caps = caps
	return nil
}
