package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

// newKey makes a fresh Ed25519 key pair for one test: release keys are
// never stored in the repository.
func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// release is a synthetic release: one small installer file.
type release struct {
	manifest []byte
	file     []byte
	m        Manifest
}

func makeRelease(t testing.TB, version, build string, payload []byte) release {
	t.Helper()
	sum := sha256.Sum256(payload)
	m := Manifest{Product: Product, Version: version, Build: build,
		Published: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), Notes: "synthetic test release",
		Files: []File{{OS: "linux", Arch: "amd64", Name: "examlane-" + version + ".tar.xz", Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:])}}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return release{manifest: b, file: payload, m: m}
}

// releaseServer serves one envelope and one file body on 127.0.0.1 over
// TLS; handlers can be swapped between requests.
type releaseServer struct {
	mu       sync.Mutex
	envelope []byte
	files    map[string][]byte
	ts       *httptest.Server
}

func newReleaseServer(t testing.TB) *releaseServer {
	rs := &releaseServer{files: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ManifestPath, func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if rs.envelope == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(rs.envelope)
	})
	mux.HandleFunc("GET "+FilesPath+"{name}", func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		b, ok := rs.files[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	rs.ts = httptest.NewTLSServer(mux)
	t.Cleanup(rs.ts.Close)
	return rs
}

func (rs *releaseServer) set(env []byte, name string, file []byte) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.envelope = env
	rs.files = map[string][]byte{name: file}
}

func (rs *releaseServer) client(keys ...ed25519.PublicKey) *Client {
	return &Client{Server: rs.ts.URL, HTTP: rs.ts.Client(), Keys: keys}
}

func mustSign(t testing.TB, k ed25519.PrivateKey, manifest []byte) []byte {
	t.Helper()
	env, err := Sign(k, manifest)
	if err != nil {
		t.Fatal(err)
	}
	return env.Marshal()
}

// TestCheckAndDownload is the acceptance table: each way a release can be
// bad is refused, and nothing but a verified file is left in the folder.
func TestCheckAndDownload(t *testing.T) {
	trusted := newKey(t)
	other := newKey(t)
	running, _ := ParseVersion("1.4.0+20")
	payload := bytes.Repeat([]byte("synthetic installer bytes\n"), 64)
	good := makeRelease(t, "1.5.0", "21", payload)

	tests := []struct {
		name string
		// envelope and file served
		envelope func() []byte
		file     []byte
		// wantCheck is the error Latest+Decide must give (nil: offered);
		// wantDownload the error Download must give when offered.
		wantCheck    error
		wantDownload error
	}{
		{name: "valid", envelope: func() []byte { return mustSign(t, trusted, good.manifest) }, file: payload},
		{name: "tampered file byte", envelope: func() []byte { return mustSign(t, trusted, good.manifest) },
			file: func() []byte { b := bytes.Clone(payload); b[100] ^= 1; return b }(), wantDownload: ErrTampered},
		{name: "truncated file", envelope: func() []byte { return mustSign(t, trusted, good.manifest) },
			file: payload[:len(payload)-1], wantDownload: ErrTampered},
		{name: "oversized file", envelope: func() []byte { return mustSign(t, trusted, good.manifest) },
			file: append(bytes.Clone(payload), make([]byte, 1<<16)...), wantDownload: ErrTampered},
		{name: "wrong key signature", envelope: func() []byte { return mustSign(t, other, good.manifest) },
			file: payload, wantCheck: ErrBadSignature},
		{name: "manifest changed after signing", envelope: func() []byte {
			env, _ := Sign(trusted, good.manifest)
			env.Manifest = bytes.Replace(env.Manifest, []byte(`"1.5.0"`), []byte(`"1.6.0"`), 1)
			return env.Marshal()
		}, file: payload, wantCheck: ErrBadSignature},
		{name: "hash changed after signing", envelope: func() []byte {
			env, _ := Sign(trusted, good.manifest)
			evil := sha256.Sum256([]byte("evil"))
			env.Manifest = bytes.Replace(env.Manifest, []byte(good.m.Files[0].SHA256), []byte(hex.EncodeToString(evil[:])), 1)
			return env.Marshal()
		}, file: []byte("evil"), wantCheck: ErrBadSignature},
		{name: "unsigned", envelope: func() []byte {
			return Envelope{Manifest: good.manifest}.Marshal()
		}, file: payload, wantCheck: ErrUnsigned},
		{name: "downgrade", envelope: func() []byte { return mustSign(t, trusted, makeRelease(t, "1.3.9", "99", payload).manifest) },
			file: payload, wantCheck: ErrNotNewer},
		{name: "same version", envelope: func() []byte { return mustSign(t, trusted, makeRelease(t, "1.4.0", "20", payload).manifest) },
			file: payload, wantCheck: ErrNotNewer},
		{name: "older build of same version", envelope: func() []byte { return mustSign(t, trusted, makeRelease(t, "1.4.0", "19", payload).manifest) },
			file: payload, wantCheck: ErrNotNewer},
		{name: "newer build of same version", envelope: func() []byte { return mustSign(t, trusted, makeRelease(t, "1.4.0", "21", payload).manifest) },
			file: payload},
		{name: "pre-release of running version", envelope: func() []byte { return mustSign(t, trusted, makeRelease(t, "1.4.0-rc.1", "30", payload).manifest) },
			file: payload, wantCheck: ErrNotNewer},
		{name: "oversized envelope", envelope: func() []byte { return make([]byte, MaxEnvelopeSize+10) },
			file: payload, wantCheck: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReleaseServer(t)
			env := tt.envelope()
			var name string
			if e, err := ParseEnvelope(env); err == nil {
				if m, err := ParseManifest(e.Manifest); err == nil {
					name = m.Files[0].Name
				}
			}
			rs.set(env, name, tt.file)
			c := rs.client(trusted.Public().(ed25519.PublicKey))
			ctx := context.Background()
			m, ok, err := c.Latest(ctx)
			if err == nil && ok {
				err = Decide(m, running)
			}
			if tt.wantCheck != nil {
				if !errors.Is(err, tt.wantCheck) {
					t.Fatalf("check: %v, want %v", err, tt.wantCheck)
				}
				return
			}
			if err != nil || !ok {
				t.Fatalf("check: ok=%v err=%v, want an offered release", ok, err)
			}
			f, err := m.ForSystem("linux", "amd64")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path, err := c.Download(ctx, f, dir)
			if tt.wantDownload != nil {
				if !errors.Is(err, tt.wantDownload) {
					t.Fatalf("download: %v, want %v", err, tt.wantDownload)
				}
				if !errors.Is(err, lane.ErrUnauthenticated) {
					t.Errorf("download error %v does not wrap lane.ErrUnauthenticated", err)
				}
				assertOnlyStaging(t, dir)
				return
			}
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tt.file) {
				t.Fatalf("staged file differs from the served one (%v)", err)
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm()&0o111 != 0 {
				t.Errorf("staged file mode %v is executable", fi.Mode())
			}
			if filepath.Dir(path) != dir {
				t.Errorf("staged at %s, want in %s", path, dir)
			}
		})
	}
}

// assertOnlyStaging checks that a refused download left no file behind:
// dir holds only the empty staging folder.
func assertOnlyStaging(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != ".staging" {
			t.Errorf("refused download left %s", e.Name())
		}
	}
	left, _ := os.ReadDir(filepath.Join(dir, ".staging"))
	for _, e := range left {
		t.Errorf("refused download left staging file %s", e.Name())
	}
}

func TestLatestWithoutRelease(t *testing.T) {
	rs := newReleaseServer(t)
	k := newKey(t)
	_, ok, err := rs.client(k.Public().(ed25519.PublicKey)).Latest(context.Background())
	if err != nil || ok {
		t.Fatalf("no release published: ok=%v err=%v", ok, err)
	}
	if _, _, err := rs.client().Latest(context.Background()); !errors.Is(err, ErrNoTrustedKeys) {
		t.Fatalf("no keys: %v, want ErrNoTrustedKeys", err)
	}
}

func TestDownloadRefusesOtherServer(t *testing.T) {
	rs := newReleaseServer(t)
	c := rs.client(newKey(t).Public().(ed25519.PublicKey))
	f := File{OS: "linux", Arch: "amd64", Name: "x.bin", Size: 1, SHA256: strings.Repeat("0", 64), URL: "https://203.0.113.9/x.bin"}
	if _, err := c.Download(context.Background(), f, t.TempDir()); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("file on another server: %v, want ErrInvalid", err)
	}
}

func TestManifestValidate(t *testing.T) {
	base := makeRelease(t, "2.0.0", "1", []byte("x")).m
	tests := []struct {
		name string
		edit func(m *Manifest)
	}{
		{"product", func(m *Manifest) { m.Product = "other" }},
		{"version", func(m *Manifest) { m.Version = "2.0" }},
		{"build metadata in version", func(m *Manifest) { m.Version = "2.0.0+3" }},
		{"build", func(m *Manifest) { m.Build = "x1" }},
		{"min version", func(m *Manifest) { m.MinVersion = "one" }},
		{"no published", func(m *Manifest) { m.Published = time.Time{} }},
		{"no files", func(m *Manifest) { m.Files = nil }},
		{"path in name", func(m *Manifest) { m.Files[0].Name = "../evil" }},
		{"dot name", func(m *Manifest) { m.Files[0].Name = ".hidden" }},
		{"zero size", func(m *Manifest) { m.Files[0].Size = 0 }},
		{"size above limit", func(m *Manifest) { m.Files[0].Size = MaxFileSize + 1 }},
		{"upper-case hash", func(m *Manifest) { m.Files[0].SHA256 = strings.ToUpper(m.Files[0].SHA256) }},
		{"os", func(m *Manifest) { m.Files[0].OS = "Linux" }},
		{"repeated name", func(m *Manifest) { m.Files = append(m.Files, m.Files[0]) }},
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("base manifest: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			m.Files = append([]File(nil), base.Files...)
			tt.edit(&m)
			if err := m.Validate(); !errors.Is(err, lane.ErrInvalid) {
				t.Fatalf("Validate: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSignRefusesInvalidManifest(t *testing.T) {
	if _, err := Sign(newKey(t), []byte(`{"product":"examlane"}`)); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("Sign: %v", err)
	}
}

func TestParseVersionAndCompare(t *testing.T) {
	order := []string{"dev", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0+1", "1.0.0+2", "1.0.0+10", "1.0.1", "1.1.0", "2.0.0"}
	vs := make([]Version, len(order))
	for i, s := range order {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", s, err)
		}
		if v.String() != s {
			t.Errorf("ParseVersion(%q).String() = %q", s, v.String())
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, s := range []string{"", "1", "1.2", "01.2.3", "1.2.3-", "1.2.3+x", "1.2.3-a..b", "a.b.c", "1.2.3.4"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
}

func TestDecideMinVersion(t *testing.T) {
	m := makeRelease(t, "3.0.0", "", []byte("x")).m
	m.MinVersion = "2.0.0"
	old, _ := ParseVersion("1.9.0")
	if err := Decide(m, old); err == nil || errors.Is(err, ErrNotNewer) {
		t.Fatalf("running below min_version: %v", err)
	}
	ok, _ := ParseVersion("2.1.0")
	if err := Decide(m, ok); err != nil {
		t.Fatal(err)
	}
}

func TestParsePublicKeys(t *testing.T) {
	a, b := newKey(t).Public().(ed25519.PublicKey), newKey(t).Public().(ed25519.PublicKey)
	keys, err := ParsePublicKeys(" " + EncodePublicKey(a) + ",\n" + EncodePublicKey(b) + " ")
	if err != nil || len(keys) != 2 || !keys[0].Equal(a) || !keys[1].Equal(b) {
		t.Fatalf("ParsePublicKeys: %v %v", keys, err)
	}
	if _, err := ParsePublicKeys("bm90IGEga2V5"); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("short key: %v", err)
	}
	if keys, err := ParsePublicKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty: %v %v", keys, err)
	}
}

// manualClock is a settable lane.Clock.
type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

func TestCheckerStatusAndRun(t *testing.T) {
	k := newKey(t)
	rs := newReleaseServer(t)
	clk := &manualClock{t: time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)}
	running, _ := ParseVersion("1.0.0+1")
	built := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var seen []Status
	c := &Checker{Client: rs.client(k.Public().(ed25519.PublicKey)), Running: running, Built: built, BuiltFrom: "commit date",
		Clock: clk, OnChange: func(s Status) { seen = append(seen, s) }}

	if s := c.Status(); s.Running != "1.0.0+1" || s.Available != "" || !s.LastCheck.IsZero() {
		t.Fatalf("before any check: %+v", s)
	}
	s, err := c.Check(context.Background())
	if err != nil || s.Available != "" || !s.LastCheck.Equal(clk.t) {
		t.Fatalf("no release: %+v %v", s, err)
	}
	rel := makeRelease(t, "1.1.0", "2", []byte("payload"))
	rs.set(mustSign(t, k, rel.manifest), rel.m.Files[0].Name, []byte("payload"))
	if s, err = c.Check(context.Background()); err != nil || s.Available != "1.1.0+2" || s.Notes == "" {
		t.Fatalf("release published: %+v %v", s, err)
	}
	if age := s.RunningAge(clk.t); age != clk.t.Sub(built) {
		t.Fatalf("running age %v", age)
	}
	// A bad signature is reported and the earlier offer is kept.
	rs.set(mustSign(t, newKey(t), rel.manifest), rel.m.Files[0].Name, nil)
	if s, err = c.Check(context.Background()); !errors.Is(err, ErrBadSignature) || !strings.Contains(s.LastError, "signature") || s.Available != "1.1.0+2" {
		t.Fatalf("bad signature: %+v %v", s, err)
	}
	if len(seen) != 3 {
		t.Fatalf("OnChange called %d times, want 3", len(seen))
	}

	// Run checks at once and stops with its context.
	rs.set(mustSign(t, k, rel.manifest), rel.m.Files[0].Name, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c.OnChange = func(s Status) {
		if s.LastError == "" {
			cancel()
		}
	}
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not check at start")
	}
}

func BenchmarkVerify(b *testing.B) {
	k := newKey(b)
	rel := makeRelease(b, "1.0.0", "1", []byte("payload"))
	env, _ := Sign(k, rel.manifest)
	keys := []ed25519.PublicKey{k.Public().(ed25519.PublicKey)}
	for b.Loop() {
		if _, err := Verify(env, keys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload(b *testing.B) {
	payload := bytes.Repeat([]byte{0x5a}, 4<<20)
	rel := makeRelease(b, "1.0.0", "1", payload)
	rs := newReleaseServer(b)
	rs.set(nil, rel.m.Files[0].Name, payload)
	c := rs.client()
	dir := b.TempDir()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := c.Download(context.Background(), rel.m.Files[0], dir); err != nil {
			b.Fatal(err)
		}
	}
}
