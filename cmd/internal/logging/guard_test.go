package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/lane"
)

// guarded returns a logger behind the guard writing JSON into buf.
func guarded(buf *bytes.Buffer, extra ...string) *slog.Logger {
	h := slog.NewJSONHandler(buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(logging.NewGuard(h, logging.NewAllowList(extra...)))
}

// patient is a LogValuer that would log a synthetic patient's details.
type patient struct{ name, dob string }

func (p patient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("patient_id", "7d0e1f00-0000-4000-8000-000000000001"),
		slog.String("name", p.name), slog.String("dob", p.dob))
}

// idValuer resolves to a plain id.
type idValuer string

func (v idValuer) LogValue() slog.Value { return slog.StringValue(string(v)) }

func TestGuard(t *testing.T) {
	synthetic := patient{name: "Testperson Alpha", dob: "1970-01-01"}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"allowed keys pass", func(l *slog.Logger) {
			l.Info("capture decoded", "instrument", "Phoropter", "bytes", 412, "duration", "1.2s", "encounter_id", "e-1", "pending_count", 3)
		}, `{"level":"INFO","msg":"capture decoded","instrument":"Phoropter","bytes":412,"duration":"1.2s","encounter_id":"e-1","pending_count":3}`},
		{"other keys redacted", func(l *slog.Logger) {
			l.Info("saved", "name", "Testperson Alpha", "mrn", "MRN4417", "url", "https://pms/fhir/R4/Patient?name=Testperson")
		}, `{"level":"INFO","msg":"saved","name":"<redacted>","mrn":"<redacted>","url":"<redacted>"}`},
		{"denied ids", func(l *slog.Logger) {
			l.Info("x", "insurance_id", "INS-0001", "mrn_id", "M-1", "patient_id", "p-1")
		}, `{"level":"INFO","msg":"x","insurance_id":"<redacted>","mrn_id":"<redacted>","patient_id":"p-1"}`},
		{"key made of data", func(l *slog.Logger) {
			l.Info("x", "Testperson Alpha", 1)
		}, `{"level":"INFO","msg":"x","<redacted>":"<redacted>"}`},
		{"log valuer group", func(l *slog.Logger) {
			l.Info("opened", "patient", synthetic)
		}, `{"level":"INFO","msg":"opened","patient":"<redacted>"}`},
		{"log valuer in an allowed group", func(l *slog.Logger) {
			l.Info("opened", slog.Group("sync", "count", 2, "who", synthetic, "id", idValuer("p-9")))
		}, `{"level":"INFO","msg":"opened","sync":{"count":2,"who":"<redacted>","id":"p-9"}}`},
		{"group members checked", func(l *slog.Logger) {
			l.Info("x", slog.Group("sync", "pushed", 3, "family", "Alpha"))
		}, `{"level":"INFO","msg":"x","sync":{"pushed":3,"family":"<redacted>"}}`},
		{"errors scrubbed", func(l *slog.Logger) {
			l.Error("import failed", "error", errors.New(`open /srv/fundus/ALPHA^TESTPERSON_19700101.dcm: permission denied`),
				"reason", `name "Testperson Alpha" in file`, "cause", errors.New("x"))
		}, `{"level":"ERROR","msg":"import failed","error":"open <path>: permission denied","reason":"name \"<redacted>\" in file","cause":"<redacted>"}`},
		{"Err helper", func(l *slog.Logger) {
			l.Warn("sync failed", logging.Err(fmt.Errorf("syncclient: push %s: %w", "7d0e1f00-0000-4000-8000-000000000001", lane.ErrConflict)))
		}, `{"level":"WARN","msg":"sync failed","error":"syncclient: push 7d0e1f00-0000-4000-8000-000000000001: conflict: record changed since it was read","error_kind":"conflict"}`},
		{"message scrubbed", func(l *slog.Logger) {
			l.Info(`patient "Testperson Alpha" born 1970-01-01 phone 5550100123`)
		}, `{"level":"INFO","msg":"patient \"<redacted>\" born <date> phone <number>"}`},
		{"with attrs and groups", func(l *slog.Logger) {
			l.With("component", "devices", "name", "x").WithGroup("hubs").With("state", "connected").WithGroup("people").Info("up", "count", 1)
		}, `{"level":"INFO","msg":"up","component":"devices","name":"<redacted>","<redacted>":{"state":"connected","<redacted>":{"count":1}}}`},
		{"extra allowed key", func(l *slog.Logger) {
			l.Info("x", "station", "s1")
		}, `{"level":"INFO","msg":"x","station":"s1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			extra := []string(nil)
			if tt.name == "extra allowed key" {
				extra = []string{"station"}
			}
			tt.log(guarded(&buf, extra...))
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("logged\n%s\nwant\n%s", got, tt.want)
			}
			for _, phi := range []string{"Testperson", "Alpha", "1970", "MRN4417", "INS-0001", "5550100123"} {
				if strings.Contains(buf.String(), phi) {
					t.Errorf("synthetic PHI %q leaked: %s", phi, buf.String())
				}
			}
		})
	}
}

func TestAllowList(t *testing.T) {
	a := logging.NewAllowList("station")
	for key, want := range map[string]bool{
		"instrument": true, "count": true, "station": true, "encounter_id": true, "capture_ids": true, "retry_ms": true,
		"image_bytes": true, "pending_count": true,
		"name": false, "dob": false, "_id": false, "mrn": false, "mrn_id": false, "url": false, "query": false, "path": false,
		"": false,
	} {
		if got := a.Allows(key); got != want {
			t.Errorf("Allows(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestAllowListExtraKeysOnly(t *testing.T) {
	if logging.NewAllowList().Allows("station") {
		t.Error("station allowed without being added")
	}
}

func TestGuardEnabledFollowsLevel(t *testing.T) {
	var buf bytes.Buffer
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	l := slog.New(logging.NewGuard(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: &lv}), nil))
	l.Info("hidden")
	if buf.Len() != 0 || l.Enabled(context.Background(), slog.LevelInfo) {
		t.Errorf("info logged at warn level: %q", buf.String())
	}
	lv.Set(slog.LevelDebug)
	l.Debug("shown")
	if !strings.Contains(buf.String(), "shown") {
		t.Error("debug not logged after lowering the level")
	}
}

func TestNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	var console bytes.Buffer
	var lv slog.LevelVar
	l, err := logging.New(logging.Options{Dir: dir, Level: &lv, Console: &console, MaxSize: 512, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		l.Info("capture decoded", "instrument", "Phoropter", "i_count", i, "name", "Testperson Alpha")
	}
	l.Debug("not at info")
	logf := logging.Logf(l.Logger, "devices")
	logf("instrument %q: reconnecting after %s", "phoropter", "2s")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("log dir mode = %v, %v", fi.Mode(), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, logging.FileName+"*"))
	if len(files) != 2 {
		t.Errorf("files = %v, want the current one and one rotated", files)
	}
	cur := readLines(t, filepath.Join(dir, logging.FileName))
	last := cur[len(cur)-1]
	var rec map[string]any
	if err := json.Unmarshal([]byte(last), &rec); err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	if rec["msg"] != `instrument "phoropter": reconnecting after 2s` || rec["component"] != "devices" {
		t.Errorf("Logf record = %v", rec)
	}
	all := console.String()
	if strings.Count(all, "msg=\"capture decoded\"") != 20 || strings.Contains(all, "not at info") {
		t.Errorf("console output:\n%s", all)
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("Testperson")) {
			t.Errorf("%s holds synthetic PHI", f)
		}
	}
	if strings.Contains(all, "Testperson") {
		t.Error("console holds synthetic PHI")
	}
}

func TestNewWithoutFile(t *testing.T) {
	l, err := logging.New(logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("discarded")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l, err = logging.New(logging.Options{Console: &buf})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("to the console", "count", 1)
	if !strings.Contains(buf.String(), `msg="to the console" count=1`) {
		t.Errorf("console = %q", buf.String())
	}
	if _, err := logging.New(logging.Options{Dir: "/proc/definitely/not/writable"}); err == nil {
		t.Error("New with an unusable directory succeeded")
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "": slog.LevelInfo,
		"warn": slog.LevelWarn, "Warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := logging.ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := logging.ParseLevel("verbose"); err == nil {
		t.Error("ParseLevel(verbose) succeeded")
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if logging.IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

// TestGuardConcurrent logs through one guarded logger from many
// goroutines with shared With/WithGroup children. Run with -race.
func TestGuardConcurrent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	base := slog.New(logging.NewGuard(slog.NewJSONHandler(w, nil), nil)).With("component", "test")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := base.WithGroup("sync").With("attempt", g)
			for i := range 200 {
				l.Info("cycle", "count", i, "name", "Testperson Alpha")
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "\n"); n != 1600 {
		t.Errorf("%d records, want 1600", n)
	}
	if strings.Contains(buf.String(), "Testperson") {
		t.Error("synthetic PHI leaked")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func BenchmarkGuardedJSON(b *testing.B) {
	l := slog.New(logging.NewGuard(slog.NewJSONHandler(io.Discard, nil), nil))
	err := fmt.Errorf("devices: instrument %q: open /dev/ttyUSB0: %w", "phoropter", lane.ErrUnavailable)
	for b.Loop() {
		l.Info("capture decoded", "instrument", "Phoropter", "bytes", 412, "encounter_id", "7d0e1f00-0000-4000-8000-000000000001", "error", err)
	}
}

func BenchmarkUnguardedJSON(b *testing.B) {
	l := slog.New(slog.NewJSONHandler(io.Discard, nil))
	err := fmt.Errorf("devices: instrument %q: open /dev/ttyUSB0: %w", "phoropter", lane.ErrUnavailable)
	for b.Loop() {
		l.Info("capture decoded", "instrument", "Phoropter", "bytes", 412, "encounter_id", "7d0e1f00-0000-4000-8000-000000000001", "error", err)
	}
}
