package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/examlane/examlane/lane"
)

// Server is one practice server over one data directory. It is safe for
// concurrent use.
type Server struct {
	dir   string
	db    *store
	clock lane.Clock
	loc   *time.Location
	log   *slog.Logger

	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	caPEM    []byte
	tlsCert  tls.Certificate
	enrolKey []byte

	auth authConfig

	// Faults are the failure knobs for end-to-end tests; all off by
	// default.
	Faults *Faults

	handler http.Handler
}

// Option configures Open.
type Option func(*Server)

// WithClock makes the server read time from c (tests).
func WithClock(c lane.Clock) Option { return func(s *Server) { s.clock = c } }

// WithLogger sends the request log (method, path, status, tenant, lane,
// duration; never query strings or bodies) to l.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithTimeZone sets the zone for FHIR dates written without one (search
// date=2024-05-01 means that day in this zone). The default is time.Local.
func WithTimeZone(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// InitOptions describe a new data directory.
type InitOptions struct {
	// Tenant is the first practice's id and Name its display name.
	Tenant, Name string
	// LocationName names the practice's first Location ("Main" when
	// empty).
	LocationName string
	// Hosts are extra DNS names or IP addresses for the server
	// certificate, beyond 127.0.0.1, ::1 and localhost.
	Hosts []string
	// Now is the creation time (time.Now when zero).
	Now time.Time
}

// Init creates a data directory: the practice CA (ECDSA P-256, key 0600),
// the server certificate, the enrolment sealing key, the database, and the
// first tenant with one Location. It refuses to touch a directory that
// already holds any of these files.
func Init(ctx context.Context, dir string, o InitOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if err := checkTenantID(o.Tenant); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if o.Name == "" {
		return fmt.Errorf("init: %w", lane.Invalidf("practice name is empty"))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	for _, f := range []string{dbFile, caCertFile, caKeyFile, serverCertFile, serverKeyFile, enrolKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("init %s: %s %w; refusing to overwrite", dir, f, errExists)
		}
	}
	caDER, caKey, err := newCA(o.Name, o.Now)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvDER, srvKey, err := newServerCert(ca, caKey, o.Hosts, o.Now)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	srvKeyPEM, err := keyPEM(srvKey)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	enrolKey := make([]byte, 32)
	if _, err := rand.Read(enrolKey); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
		perm os.FileMode
	}{
		{caKeyFile, caKeyPEM, 0o600},
		{caCertFile, pemBlock("CERTIFICATE", caDER), 0o644},
		{serverKeyFile, srvKeyPEM, 0o600},
		{serverCertFile, pemBlock("CERTIFICATE", srvDER), 0o644},
		{enrolKeyFile, enrolKey, 0o600},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.b, f.perm); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	db, err := openStore(ctx, filepath.Join(dir, dbFile), true)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	s, err := Open(dir, WithClock(fixedStart{o.Now}))
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer s.Close()
	if _, err := s.AddTenant(ctx, o.Tenant, o.Name, o.LocationName); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}

// fixedStart is a clock that starts at a given time and then runs.
type fixedStart struct{ t time.Time }

func (f fixedStart) Now() time.Time { return f.t }

// Open opens an initialised data directory.
func Open(dir string, opts ...Option) (*Server, error) {
	s := &Server{dir: dir, clock: lane.SystemClock{}, loc: time.Local, Faults: &Faults{}}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	if s.ca, s.caPEM, err = readCert(filepath.Join(dir, caCertFile)); err != nil {
		return nil, fmt.Errorf("open %s: %w (run practiced init)", dir, err)
	}
	if s.caKey, _, err = readKey(filepath.Join(dir, caKeyFile)); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if s.tlsCert, err = tls.LoadX509KeyPair(filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if s.enrolKey, err = os.ReadFile(filepath.Join(dir, enrolKeyFile)); err != nil || len(s.enrolKey) != 32 {
		return nil, fmt.Errorf("open %s: enrolment key: %v", dir, err)
	}
	s.db, err = openStore(context.Background(), filepath.Join(dir, dbFile), false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	s.initAuth()
	s.handler = s.routes()
	return s, nil
}

// Close closes the database.
func (s *Server) Close() error { return s.db.Close() }

// Dir returns the data directory.
func (s *Server) Dir() string { return s.dir }

// CACertPEM returns the practice CA certificate (PEM), which lanes pin.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// CAPin returns the hex SHA-256 of the CA's SubjectPublicKeyInfo: the pin
// a lane checks in VerifyConnection.
func (s *Server) CAPin() string { return spkiPin(s.ca) }

// Handler returns the HTTP handler: /fhir/R4, /dicomweb, /auth/login,
// /auth/refresh, /enroll and /healthz. It needs TLS with the configuration of TLSConfig to see lane
// certificates; without one every lane endpoint answers 401.
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig returns the server's TLS configuration: TLS 1.3 only, the
// server certificate, and lane client certificates verified against the
// practice CA when presented (they are required by the handler, except on
// /enroll, /fhir/R4/metadata and /healthz).
func (s *Server) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{s.tlsCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// ServeTLS serves HTTPS on ln until ctx is cancelled, then shuts down
// gracefully (5 s) and returns nil.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(slogWriter{s.log}, "", 0),
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := srv.ServeTLS(ln, "", "")
	close(done)
	<-stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// ListenAndServeTLS listens on addr (e.g. 127.0.0.1:8443) and serves until
// ctx is cancelled.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.ServeTLS(ctx, ln)
}

// slogWriter adapts net/http's error log to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("http", "msg", string(p))
	return len(p), nil
}
