package logging

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// DefaultKeys are the attribute keys known to carry no patient data: ids,
// counts, sizes, durations, states, instrument and component names, error
// kinds. Keys ending in _id, _ids, _count, _ms or _bytes are allowed too,
// except the identifiers in DeniedKeys.
var DefaultKeys = []string{
	// what and where in the program; group names of the components
	"sync", "devices", "db", "hub", "backup", "config", "ui", "enrol",
	"component", "op", "event", "action", "kind", "state", "status", "result", "outcome", "phase", "source",
	// errors (values are scrubbed, see ScrubbedKeys)
	"error", "err", "error_kind", "reason",
	// instruments
	"instrument", "profile", "dialect", "transport", "port", "link", "device", "vid", "pid",
	// the lane and its build
	"lane", "tenant", "version", "commit", "build", "schema_version", "demo", "key_source", "key_mode",
	"config_source", "data_dir", "log_dir", "config_file",
	// records, by opaque id only
	"id", "ids", "seq", "sha256", "role", "resource_type",
	// quantities and timings
	"count", "n", "total", "bytes", "size", "files", "duration", "elapsed", "latency", "attempt", "retries",
	"backoff", "interval", "timeout", "progress", "batch", "pushed", "pulled", "conflicts", "pending", "purged",
	// HTTP, without URLs (FHIR searches carry names in their query)
	"method", "route", "http_status", "status_code",
}

// DeniedKeys are refused even when a suffix rule would allow them: they
// name identifiers that are patient data in their own right.
var DeniedKeys = []string{"mrn", "mrn_id", "national_id", "nhs_id", "ssn_id", "insurance_id", "member_id",
	"subscriber_id", "policy_id", "external_id", "patient_identifier"}

// ScrubbedKeys are allowed keys whose values are free text, passed through
// Scrub on the way out. Any value that is an error is scrubbed too.
var ScrubbedKeys = []string{"error", "err", "reason"}

var allowedSuffixes = []string{"_id", "_ids", "_count", "_ms", "_bytes"}

// AllowList decides which attribute keys the guard lets through.
// It is immutable and safe for concurrent use.
type AllowList struct {
	keys map[string]bool
	deny map[string]bool
}

// NewAllowList returns DefaultKeys plus extra.
func NewAllowList(extra ...string) *AllowList {
	a := &AllowList{keys: map[string]bool{}, deny: map[string]bool{}}
	for _, k := range append(slices.Clone(DefaultKeys), extra...) {
		a.keys[k] = true
	}
	for _, k := range DeniedKeys {
		a.deny[k] = true
	}
	return a
}

// Allows reports whether values under key may be logged.
func (a *AllowList) Allows(key string) bool {
	if a.deny[key] {
		return false
	}
	if a.keys[key] {
		return true
	}
	for _, s := range allowedSuffixes {
		if strings.HasSuffix(key, s) && len(key) > len(s) {
			return true
		}
	}
	return false
}

// Guard is a slog.Handler that lets through only attributes whose keys are
// on its allow-list: any other attribute keeps its key (when the key looks
// like an identifier) and has its value replaced by "<redacted>". Groups
// follow the same rule by their key, and their members are checked one by
// one. The message, error values and the values of ScrubbedKeys pass
// through Scrub. LogValuer values are resolved before they are checked.
// Guard is safe for concurrent use when the handler it wraps is.
type Guard struct {
	next  slog.Handler
	allow *AllowList
}

var _ slog.Handler = (*Guard)(nil)

// NewGuard wraps next; allow nil means NewAllowList().
func NewGuard(next slog.Handler, allow *AllowList) *Guard {
	if allow == nil {
		allow = NewAllowList()
	}
	return &Guard{next: next, allow: allow}
}

// Enabled reports whether the wrapped handler handles level.
func (g *Guard) Enabled(ctx context.Context, level slog.Level) bool {
	return g.next.Enabled(ctx, level)
}

// Handle passes a copy of r with its message and attributes checked.
func (g *Guard) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(g.filter(a))
		return true
	})
	return g.next.Handle(ctx, out)
}

// WithAttrs checks attrs once and passes them on.
func (g *Guard) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = g.filter(a)
	}
	return &Guard{next: g.next.WithAttrs(out), allow: g.allow}
}

// WithGroup opens a group; a name not on the allow-list is replaced.
func (g *Guard) WithGroup(name string) slog.Handler {
	if name == "" {
		return g
	}
	if !g.allow.Allows(name) {
		name = Redacted
	}
	return &Guard{next: g.next.WithGroup(name), allow: g.allow}
}

var identKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// filter returns a with its value checked.
func (g *Guard) filter(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Key == "" && a.Value.Kind() != slog.KindGroup {
		return a // handlers drop it
	}
	if a.Key != "" && !g.allow.Allows(a.Key) {
		key := a.Key
		if !identKeyRE.MatchString(key) {
			key = Redacted // a key made from data
		}
		return slog.String(key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		members := a.Value.Group()
		out := make([]slog.Attr, len(members))
		for i, m := range members {
			out[i] = g.filter(m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, SafeError(err))
		}
	}
	if slices.Contains(ScrubbedKeys, a.Key) {
		return slog.String(a.Key, Scrub(valueString(a.Value)))
	}
	return a
}

// valueString formats v as the text handlers would.
func valueString(v slog.Value) string {
	if v.Kind() == slog.KindString {
		return v.String()
	}
	return fmt.Sprint(v.Any())
}
