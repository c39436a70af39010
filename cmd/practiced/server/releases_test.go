package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/lane"
)

// testRelease writes a synthetic release file and returns its signed
// envelope and the name → path map PublishRelease takes.
func testRelease(t *testing.T, key ed25519.PrivateKey, version, build string) ([]byte, map[string]string) {
	t.Helper()
	payload := []byte("synthetic installer " + version + "+" + build)
	sum := sha256.Sum256(payload)
	name := "examlane-" + version + ".tar.xz"
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	m := update.Manifest{Product: update.Product, Version: version, Build: build, Published: time.Now().UTC().Truncate(time.Second),
		Files: []update.File{{OS: "linux", Arch: "amd64", Name: name, Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:])}}}
	mb, _ := json.Marshal(m)
	env, err := update.Sign(key, mb)
	if err != nil {
		t.Fatal(err)
	}
	return env.Marshal(), map[string]string{name: path}
}

func TestReleasesServedWithStagedRollout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub := key.Public().(ed25519.PublicKey)
	early, late := e.enrol(t, "alpha"), e.enrol(t, "alpha")
	client := func(l *testLane) *update.Client {
		return &update.Client{Server: e.ts.URL, HTTP: l.c, Keys: []ed25519.PublicKey{pub}}
	}

	// Nothing published: 404, which the client reads as "no release".
	if _, ok, err := client(early).Latest(ctx); ok || err != nil {
		t.Fatalf("no release: ok=%v err=%v", ok, err)
	}

	env1, files1 := testRelease(t, key, "1.0.0", "1")
	if _, err := e.srv.PublishRelease(ctx, env1, files1, nil, 0); err != nil {
		t.Fatal(err)
	}
	env2, files2 := testRelease(t, key, "1.1.0", "2")
	if _, err := e.srv.PublishRelease(ctx, env2, files2, []string{late.id}, 0); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		lane *testLane
		want string
	}{
		{"early lane gets the new release", early, "1.1.0+2"},
		{"held-back lane gets the previous release", late, "1.0.0+1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(tt.lane)
			m, ok, err := c.Latest(ctx)
			if err != nil || !ok || m.Release().String() != tt.want {
				t.Fatalf("offered %v (ok=%v err=%v), want %s", m.Release(), ok, err, tt.want)
			}
			// The offered release's file downloads and verifies.
			if _, err := c.Download(ctx, m.Files[0], t.TempDir()); err != nil {
				t.Fatalf("download: %v", err)
			}
		})
	}
	// A held-back lane cannot fetch the newer release's file either.
	newName := "examlane-1.1.0.tar.xz"
	resp, _ := late.do(http.MethodGet, update.FilesPath+newName, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("held-back lane fetching the held file: %d", resp.StatusCode)
	}

	// Hold for every lane by percentage, then release to all.
	if _, err := e.srv.HoldRelease("1.1.0+2", nil, 100); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := client(early).Latest(ctx); m.Release().String() != "1.0.0+1" {
		t.Fatalf("100%% held: early lane offered %v", m.Release())
	}
	if _, err := e.srv.HoldRelease("1.1.0+2", nil, 0); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := client(late).Latest(ctx); m.Release().String() != "1.1.0+2" {
		t.Fatalf("released to all: late lane offered %v", m.Release())
	}
	if _, err := e.srv.HoldRelease("9.9.9", nil, 0); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("hold of an unknown release: %v", err)
	}

	// Without a lane certificate the endpoints answer 401.
	r, err := insecureClient().Get(e.ts.URL + update.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("manifest without a lane certificate: %d", r.StatusCode)
	}
}

func TestPublishReleaseRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	env, files := testRelease(t, key, "2.0.0", "5")

	unsigned, _ := update.ParseEnvelope(env)
	unsigned.Signature = nil
	wrongFile := map[string]string{}
	for name := range files {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, []byte("not the release"), 0o644)
		wrongFile[name] = p
	}
	tests := []struct {
		name  string
		env   []byte
		files map[string]string
		pct   int
		want  error
	}{
		{"unsigned", unsigned.Marshal(), files, 0, lane.ErrUnauthenticated},
		{"file differs from manifest", env, wrongFile, 0, lane.ErrInvalid},
		{"file missing", env, map[string]string{}, 0, lane.ErrInvalid},
		{"bad percent", env, files, 101, lane.ErrInvalid},
		{"not an envelope", []byte("{}"), files, 0, lane.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.srv.PublishRelease(ctx, tt.env, tt.files, nil, tt.pct); !errors.Is(err, tt.want) {
				t.Fatalf("publish: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := e.srv.PublishRelease(ctx, env, files, nil, 0); err != nil {
		t.Fatal(err)
	}
	// The same or an older version cannot be published after it.
	for _, v := range [][2]string{{"2.0.0", "5"}, {"1.9.0", "9"}} {
		env, files := testRelease(t, key, v[0], v[1])
		if _, err := e.srv.PublishRelease(ctx, env, files, nil, 0); !errors.Is(err, lane.ErrConflict) {
			t.Fatalf("publish %s+%s after 2.0.0+5: %v, want ErrConflict", v[0], v[1], err)
		}
	}
	rs, err := e.srv.Releases()
	if err != nil || len(rs) != 1 || rs[0].ID != "2.0.0+5" {
		t.Fatalf("releases: %+v %v", rs, err)
	}
}

func TestLaneBucketStable(t *testing.T) {
	counts := make([]int, 100)
	for i := range 10000 {
		b := laneBucket("lane-" + string(rune('a'+i%26)) + hex.EncodeToString([]byte{byte(i), byte(i >> 8)}))
		if b < 0 || b > 99 {
			t.Fatalf("bucket %d", b)
		}
		counts[b]++
	}
	for i, c := range counts {
		if c == 0 {
			t.Errorf("bucket %d never used in 10000 lanes", i)
		}
	}
	if laneBucket("lane-x") != laneBucket("lane-x") {
		t.Fatal("bucket not stable")
	}
}
