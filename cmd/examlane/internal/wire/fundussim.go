package wire

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui/retina/synth"
)

// FundusSimulator is demo mode's fundus camera: each Trigger drops a pair
// of synthetic colour fundus photographs (right eye, then left, drawn by
// ui/retina/synth from a seed: no real image goes into them) as JPEG files
// into the camera's export folder, the way a camera's software exports
// them. It is safe for concurrent use.
type FundusSimulator struct {
	// Folder is the export folder the lane's camera watches.
	Folder string
	// Width and Height are the picture size (default 2048 × 1536).
	Width, Height int
	// Seed starts the sequence of pictures (each pair takes the next).
	Seed uint64
	// Logf receives diagnostics; nil discards them.
	Logf func(format string, args ...any)

	once sync.Once
	reqs chan struct{}
	mu   sync.Mutex
	n    uint64 // pairs dropped; guarded by mu
}

func (s *FundusSimulator) init() { s.once.Do(func() { s.reqs = make(chan struct{}, 4) }) }

// Trigger asks for a pair of pictures; Run draws and drops it. Requests
// beyond a few waiting ones are dropped (a person pressing capture
// repeatedly).
func (s *FundusSimulator) Trigger() {
	s.init()
	select {
	case s.reqs <- struct{}{}:
	default:
	}
}

// Run drops a pair for every Trigger until ctx ends, then returns nil.
func (s *FundusSimulator) Run(ctx context.Context) error {
	s.init()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.reqs:
			if err := s.DropPair(); err != nil && s.Logf != nil {
				s.Logf("fundus simulator: %v", err)
			}
		}
	}
}

// DropPair draws and drops one pair of pictures now.
func (s *FundusSimulator) DropPair() error {
	if s.Folder == "" {
		return fmt.Errorf("fundus simulator: no export folder: %w", lane.ErrInvalid)
	}
	w, h := s.Width, s.Height
	if w <= 0 || h <= 0 {
		w, h = 2048, 1536
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	seed := s.Seed + n
	stamp := time.Now().Format("20060102_150405")
	for _, eye := range []lane.Eye{lane.EyeRight, lane.EyeLeft} {
		img, _ := synth.Generate(synth.Params{Width: w, Height: h, Seed: seed*2 + uint64(eye), Eye: eye,
			CupDisc: 0.3 + 0.05*float64(seed%5), Lesions: seed%3 == 0})
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 88}); err != nil {
			return fmt.Errorf("fundus simulator: %w", err)
		}
		word := "OD"
		if eye == lane.EyeLeft {
			word = "OS"
		}
		name := fmt.Sprintf("SIM_%s_%04d_%s.jpg", stamp, n, word)
		// Written under a name the watcher ignores, then renamed: the
		// camera's software does the same.
		tmp := filepath.Join(s.Folder, name+".part")
		if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
			return fmt.Errorf("fundus simulator: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(s.Folder, name)); err != nil {
			return fmt.Errorf("fundus simulator: %w", err)
		}
	}
	return nil
}
