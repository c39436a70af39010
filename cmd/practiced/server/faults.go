package server

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Faults are failure knobs for end-to-end tests of the lane's sync client.
// All are off by default, safe to change while the server runs, and apply
// to every endpoint but /healthz (which only Down and Delay affect).
// Counted faults (FailNext, CutNext, DuplicateNext) fire on that many
// subsequent requests and then switch themselves off.
type Faults struct {
	down       atomic.Bool
	delay      atomic.Int64 // nanoseconds
	fail       atomic.Int64
	cut        atomic.Int64
	dup        atomic.Int64
	dupEntries atomic.Bool
}

// SetDown makes every request answer 503 with Retry-After (down) or
// restores service.
func (f *Faults) SetDown(down bool) { f.down.Store(down) }

// SetDelay delays every request by d before it is handled (0: none).
func (f *Faults) SetDelay(d time.Duration) { f.delay.Store(int64(d)) }

// FailNext makes the next n requests answer 500 without doing anything.
func (f *Faults) FailNext(n int) { f.fail.Store(int64(n)) }

// CutNext makes the next n write requests (POST, PUT, DELETE) run and
// commit, then abort the connection before any response byte is sent: the
// client sees a transport error although the change is stored.
func (f *Faults) CutNext(n int) { f.cut.Store(int64(n)) }

// DuplicateNext makes the next n write requests be delivered twice, as a
// retrying proxy would: the request is handled, its response discarded,
// and it is handled again; the client gets the second response.
func (f *Faults) DuplicateNext(n int) { f.dup.Store(int64(n)) }

// DuplicateEntries makes every searchset and history page list each entry
// twice, to test de-duplication by id and versionId.
func (f *Faults) DuplicateEntries(on bool) { f.dupEntries.Store(on) }

// Reset switches every fault off.
func (f *Faults) Reset() {
	f.down.Store(false)
	f.delay.Store(0)
	f.fail.Store(0)
	f.cut.Store(0)
	f.dup.Store(0)
	f.dupEntries.Store(false)
}

// take consumes one count of a counted fault.
func take(c *atomic.Int64) bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// maxFaultBody bounds the body buffered to deliver a request twice.
const maxFaultBody = 512 << 20

// wrap applies the faults around next.
func (f *Faults) wrap(next http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(f.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.down.Load() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, fhirJSON, operationOutcome("transient", "the server is down (injected fault)"))
			return
		}
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if take(&f.fail) {
			writeJSON(w, http.StatusInternalServerError, fhirJSON, operationOutcome("exception", "internal server error (injected fault)"))
			return
		}
		write := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete
		if !write || (f.cut.Load() <= 0 && f.dup.Load() <= 0) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxFaultBody))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		deliver := func(w http.ResponseWriter) {
			r2 := r.Clone(r.Context())
			r2.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r2)
		}
		if take(&f.dup) {
			deliver(&discardWriter{h: http.Header{}})
		}
		if take(&f.cut) {
			deliver(&discardWriter{h: http.Header{}})
			panic(http.ErrAbortHandler) // net/http closes the connection (resets the HTTP/2 stream)
		}
		deliver(w)
	})
}

// discardWriter is a ResponseWriter that throws the response away.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
