package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/examlane/examlane/cmd/internal/atomicfile"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/examlane/examlane/cmd/internal/update"
	"github.com/examlane/examlane/lane"
)

// Lane releases. The practice's release manager signs a manifest with a
// release key kept off the server (practiced release sign); the server
// stores what it is given and serves it to enrolled lanes, which verify
// the signature against the keys in their own configuration. The server
// never holds a release private key and does not need the public one: a
// server that served a forged release would be refused by every lane.
//
//	DIR/releases/index.json              the published releases, oldest first, with their rollout holds
//	DIR/releases/VERSION+BUILD/envelope.json  the signed manifest as published
//	DIR/releases/VERSION+BUILD/files/NAME     the release files
//
// Staged rollout: a release can be held back for named lanes and for a
// percentage of lanes chosen by a stable hash of the lane id; a held-back
// lane is offered the newest earlier release not held for it.

const releasesDir = "releases"

// releaseMu serialises changes to a data directory's release index within
// the process.
var releaseMu sync.Mutex

// Release is one published release as the server lists it.
type Release struct {
	// ID is VERSION+BUILD (or VERSION), the folder name.
	ID        string    `json:"id"`
	Version   string    `json:"version"`
	Published time.Time `json:"published"`
	// HoldLanes are lane ids that are not offered this release;
	// HoldPercent the share of lanes (0 to 100, by lane-id hash) that are
	// not offered it either.
	HoldLanes   []string `json:"hold_lanes,omitempty"`
	HoldPercent int      `json:"hold_percent,omitempty"`
}

type releaseIndex struct {
	Releases []Release `json:"releases"`
}

func (s *Server) releasePath(elem ...string) string {
	return filepath.Join(append([]string{s.dir, releasesDir}, elem...)...)
}

func (s *Server) readReleaseIndex() (releaseIndex, error) {
	var idx releaseIndex
	b, err := os.ReadFile(s.releasePath("index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, fmt.Errorf("releases: %w", err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, fmt.Errorf("releases: index: %v", err)
	}
	return idx, nil
}

func (s *Server) writeReleaseIndex(idx releaseIndex) error {
	b, _ := json.MarshalIndent(idx, "", "  ")
	return replaceFile(s.releasePath("index.json"), append(b, '\n'), 0o644)
}

// PublishRelease stores a signed envelope and its files (name → path of
// the file to copy) as the newest release. It checks that the envelope
// carries a signature and a valid manifest newer than every published
// release, and that the files are exactly the manifest's, with its sizes
// and SHA-256 sums; it does not verify the signature (lanes do, with
// their own keys). hold applies rollout holds from the start, so that a
// release can be published to a few lanes first.
func (s *Server) PublishRelease(ctx context.Context, envelope []byte, files map[string]string, holdLanes []string, holdPercent int) (Release, error) {
	env, err := update.ParseEnvelope(envelope)
	if err != nil {
		return Release{}, fmt.Errorf("publish: %w", err)
	}
	if len(env.Signature) == 0 {
		return Release{}, fmt.Errorf("publish: %w", update.ErrUnsigned)
	}
	m, err := update.ParseManifest(env.Manifest)
	if err != nil {
		return Release{}, fmt.Errorf("publish: %w", err)
	}
	if holdPercent < 0 || holdPercent > 100 {
		return Release{}, fmt.Errorf("publish: %w", lane.Invalidf("hold percent %d: want 0 to 100", holdPercent))
	}
	if len(files) != len(m.Files) {
		return Release{}, fmt.Errorf("publish: %w", lane.Invalidf("%d files given, the manifest lists %d", len(files), len(m.Files)))
	}
	for _, f := range m.Files {
		src, ok := files[f.Name]
		if !ok {
			return Release{}, fmt.Errorf("publish: %w", lane.Invalidf("no file given for %s", f.Name))
		}
		if err := checkReleaseFile(src, f); err != nil {
			return Release{}, fmt.Errorf("publish: %w", err)
		}
	}
	rel := m.Release()
	id := rel.String()
	releaseMu.Lock()
	defer releaseMu.Unlock()
	idx, err := s.readReleaseIndex()
	if err != nil {
		return Release{}, err
	}
	for _, r := range idx.Releases {
		v, _ := update.ParseVersion(r.ID)
		if v.Compare(rel) >= 0 {
			return Release{}, fmt.Errorf("publish %s: release %s is already published and not older: %w", id, r.ID, lane.ErrConflict)
		}
	}
	dir := s.releasePath(id)
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		return Release{}, fmt.Errorf("publish: %w", err)
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return Release{}, err
		}
		if err := copyFileSynced(files[f.Name], filepath.Join(dir, "files", f.Name)); err != nil {
			return Release{}, fmt.Errorf("publish: %w", err)
		}
	}
	if err := replaceFile(filepath.Join(dir, "envelope.json"), envelope, 0o644); err != nil {
		return Release{}, fmt.Errorf("publish: %w", err)
	}
	r := Release{ID: id, Version: m.Version, Published: m.Published, HoldLanes: holdLanes, HoldPercent: holdPercent}
	idx.Releases = append(idx.Releases, r)
	if err := s.writeReleaseIndex(idx); err != nil {
		return Release{}, fmt.Errorf("publish: %w", err)
	}
	s.log.Info("release published", "version", id, "files", len(m.Files), "hold_count", len(holdLanes))
	return r, nil
}

// checkReleaseFile checks that the file at path has f's size and SHA-256.
func checkReleaseFile(path string, f update.File) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(in, f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return lane.Invalidf("%s: size or SHA-256 differs from the manifest", f.Name)
	}
	return nil
}

// copyFileSynced copies src to dst through a synced temporary file.
func copyFileSynced(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Replace(dst, in, 0o644)
}

// HoldRelease sets the rollout holds of a published release: the lanes
// (ids) and the percentage of lanes that are not offered it. Empty lanes
// and 0 release it to everyone.
func (s *Server) HoldRelease(id string, lanes []string, percent int) (Release, error) {
	if percent < 0 || percent > 100 {
		return Release{}, fmt.Errorf("hold: %w", lane.Invalidf("percent %d: want 0 to 100", percent))
	}
	releaseMu.Lock()
	defer releaseMu.Unlock()
	idx, err := s.readReleaseIndex()
	if err != nil {
		return Release{}, err
	}
	for i := range idx.Releases {
		if idx.Releases[i].ID == id {
			idx.Releases[i].HoldLanes, idx.Releases[i].HoldPercent = lanes, percent
			if err := s.writeReleaseIndex(idx); err != nil {
				return Release{}, fmt.Errorf("hold: %w", err)
			}
			return idx.Releases[i], nil
		}
	}
	return Release{}, fmt.Errorf("hold: release %s: %w", id, lane.ErrNotFound)
}

// Releases lists the published releases, oldest first.
func (s *Server) Releases() ([]Release, error) {
	idx, err := s.readReleaseIndex()
	return idx.Releases, err
}

// laneBucket places a lane id in 0..99, stably across restarts.
func laneBucket(laneID string) int {
	sum := sha256.Sum256([]byte("examlane rollout\x00" + laneID))
	return int(binary.BigEndian.Uint32(sum[:4]) % 100)
}

// heldFor reports whether r is held back for laneID.
func (r Release) heldFor(laneID string) bool {
	return slices.Contains(r.HoldLanes, laneID) || laneBucket(laneID) < r.HoldPercent
}

// OfferedRelease returns the newest release not held back for laneID, or
// lane.ErrNotFound.
func (s *Server) OfferedRelease(laneID string) (Release, error) {
	idx, err := s.readReleaseIndex()
	if err != nil {
		return Release{}, err
	}
	for i := len(idx.Releases) - 1; i >= 0; i-- {
		if !idx.Releases[i].heldFor(laneID) {
			return idx.Releases[i], nil
		}
	}
	return Release{}, fmt.Errorf("release for this lane: %w", lane.ErrNotFound)
}

// releaseRoutes adds the lane update endpoints (mutual TLS, like every
// lane endpoint): GET /updates/manifest answers the signed envelope of
// the release offered to the calling lane, GET /updates/files/{name} one
// of its files.
func (s *Server) releaseRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+update.ManifestPath, s.authenticated(http.HandlerFunc(s.handleUpdateManifest)))
	mux.Handle("GET "+update.FilesPath+"{name}", s.authenticated(http.HandlerFunc(s.handleUpdateFile)))
}

func (s *Server) handleUpdateManifest(w http.ResponseWriter, r *http.Request) {
	rel, err := s.OfferedRelease(callerOf(r.Context()).Lane)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := os.ReadFile(s.releasePath(rel.ID, "envelope.json"))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("release %s: %v", rel.ID, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func (s *Server) handleUpdateFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !update.ValidFileName(name) {
		s.writeError(w, r, fmt.Errorf("release file: %w", lane.ErrNotFound))
		return
	}
	rel, err := s.OfferedRelease(callerOf(r.Context()).Lane)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := os.Open(s.releasePath(rel.ID, "files", name))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("release file: %w", lane.ErrNotFound))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, fi.ModTime(), f)
}
