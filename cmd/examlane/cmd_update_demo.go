package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/update"
)

// startDemoUpdateChecker gives demo mode the update checker a real lane
// has. Demo mode makes a throwaway release key pair at every start and
// trusts only its public half, as IT would configure a real lane's
// release_keys; the private half is dropped at once, so no release can
// be signed for the demo lane and the checker reports it up to date
// (a release published by hand to the demo server is refused).
func startDemoUpdateChecker(b *demoBackend) error {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("demo: release key: %w", err)
	}
	u := laneconfig.Defaults().Updates
	u.ReleaseKeys = update.EncodePublicKey(pub)
	en := b.enrolled
	en.ServerURL = b.url
	if b.updates = startUpdateChecker(b.lane, en, u, b.log.Logger); b.updates == nil {
		return fmt.Errorf("demo: update checker not started")
	}
	return nil
}
