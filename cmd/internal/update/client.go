package update

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/examlane/examlane/lane"
)

// Paths on the practice server.
const (
	// ManifestPath is the signed envelope of the release offered to the
	// calling lane (404 when none is published).
	ManifestPath = "/updates/manifest"
	// FilesPath prefixes a release file's name.
	FilesPath = "/updates/files/"
)

// Client fetches releases from the practice server. HTTP must be the
// lane's mutual-TLS client pinned to the practice CA (the server answers
// only enrolled lanes); the trust in a release comes from Keys, not from
// the connection.
type Client struct {
	// Server is the practice server's origin, e.g. https://10.0.0.5:8443.
	Server string
	HTTP   *http.Client
	// Keys are the trusted release keys from the lane configuration.
	Keys []ed25519.PublicKey
}

// Latest fetches and verifies the envelope the server offers this lane.
// It returns ok=false without error when the server has no release.
func (c *Client) Latest(ctx context.Context) (m Manifest, ok bool, err error) {
	if len(c.Keys) == 0 {
		return Manifest{}, false, ErrNoTrustedKeys
	}
	body, status, err := c.get(ctx, c.Server+ManifestPath, MaxEnvelopeSize)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("update: fetch manifest: %w", err)
	}
	switch {
	case status == http.StatusNotFound:
		return Manifest{}, false, nil
	case status != http.StatusOK:
		return Manifest{}, false, fmt.Errorf("update: fetch manifest: server answered %d: %w", status, lane.ErrUnavailable)
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		return Manifest{}, false, err
	}
	m, err = Verify(env, c.Keys)
	if err != nil {
		return Manifest{}, false, err
	}
	return m, true, nil
}

// fileURL resolves f's URL against the manifest's and insists on the
// same origin: release files come from the practice server only.
func (c *Client) fileURL(f File) (string, error) {
	base, err := url.Parse(c.Server + ManifestPath)
	if err != nil {
		return "", fmt.Errorf("update: server URL: %w", lane.ErrInvalid)
	}
	ref := f.URL
	if ref == "" {
		ref = "files/" + url.PathEscape(f.Name)
	}
	u, err := base.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("update: file URL: %w", lane.ErrInvalid)
	}
	if u.Scheme != base.Scheme || u.Host != base.Host {
		return "", fmt.Errorf("update: file URL on another server refused: %w", lane.ErrInvalid)
	}
	return u.String(), nil
}

// Download fetches f into dir and verifies it against the manifest: the
// bytes stream into a temporary file in dir/.staging while their SHA-256
// is computed; a size or hash mismatch (ErrTampered), an oversized body
// (ErrTooLarge) or any error deletes the temporary file. Only a verified
// file is renamed to dir/NAME (mode 0644: never executable), replacing an
// older copy. It returns the final path.
func (c *Client) Download(ctx context.Context, f File, dir string) (path string, err error) {
	if !ValidFileName(f.Name) || f.Size <= 0 || f.Size > MaxFileSize || len(f.SHA256) != 64 {
		return "", fmt.Errorf("update: download: %w", lane.Invalidf("file entry not valid"))
	}
	want, err := hex.DecodeString(f.SHA256)
	if err != nil {
		return "", fmt.Errorf("update: download: %w", lane.Invalidf("sha256 not hex"))
	}
	u, err := c.fileURL(f)
	if err != nil {
		return "", err
	}
	staging := filepath.Join(dir, ".staging")
	if err := os.MkdirAll(staging, 0o700); err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("update: download: %w: %w", err, lane.ErrUnavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("update: download: server answered %d: %w", resp.StatusCode, lane.ErrUnavailable)
	}
	if resp.ContentLength > f.Size {
		return "", fmt.Errorf("update: download: server announces %d bytes, manifest %d: %w", resp.ContentLength, f.Size, ErrTampered)
	}
	tmp, err := os.CreateTemp(staging, "dl-*.part")
	if err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.Size+1))
	if err != nil {
		return "", fmt.Errorf("update: download: %w: %w", err, lane.ErrUnavailable)
	}
	if n != f.Size {
		return "", fmt.Errorf("update: %s: %d bytes, manifest says %d: %w", f.Name, n, f.Size, ErrTampered)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return "", fmt.Errorf("update: %s: SHA-256 differs from the manifest: %w", f.Name, ErrTampered)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	path = filepath.Join(dir, f.Name)
	if err = os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("update: download: %w", err)
	}
	return path, nil
}

// get reads url's body up to limit bytes (ErrTooLarge above).
func (c *Client) get(ctx context.Context, u string, limit int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", err, lane.ErrUnavailable)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", err, lane.ErrUnavailable)
	}
	if int64(len(b)) > limit {
		return nil, 0, ErrTooLarge
	}
	return b, resp.StatusCode, nil
}
