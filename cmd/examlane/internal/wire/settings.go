package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
)

// Settings implements ui.Settings over the lane configuration file. Save
// validates the edited configuration as `examlane` would load it and
// replaces the file atomically; the running lane picks the changes up at
// its next start. It is safe for concurrent use.
type Settings struct {
	// File is the configuration file Save writes; Home expands "~" in it.
	File, Home string
	// Enrolment is the enrolment status in words.
	Enrolment string
	// ReadOnly refuses Save (demo mode, whose configuration is built in
	// memory).
	ReadOnly bool

	mu       sync.Mutex
	cfg      *laneconfig.Config // guarded by mu
	profiles []string
}

var _ ui.Settings = (*Settings)(nil)

// NewSettings returns the adapter for the loaded configuration cfg, whose
// profiles are set.
func NewSettings(cfg *laneconfig.Config, set *profile.Set, file string) *Settings {
	s := &Settings{File: file, cfg: cfg}
	if set != nil {
		for _, p := range set.All() {
			s.profiles = append(s.profiles, p.Name)
		}
	}
	return s
}

// Load implements ui.Settings.
func (s *Settings) Load(context.Context) (ui.LaneSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	ls := ui.LaneSettings{
		LaneName: c.Lane.Name, LockTimeout: time.Duration(c.Session.LockTimeout), DataDir: c.Data.Dir,
		ServerURL: c.Server.URL, Enrolment: s.Enrolment,
	}
	for _, in := range c.Instruments {
		ls.Instruments = append(ls.Instruments, ui.InstrumentSetting{Name: in.Name, Profile: in.Profile, Port: in.Port, Folder: in.Folder})
	}
	return ls, nil
}

// Save implements ui.Settings: it applies ls to the configuration,
// validates the result and writes the file. Problems wrap lane.ErrInvalid.
func (s *Settings) Save(_ context.Context, ls ui.LaneSettings) error {
	if s.ReadOnly {
		return fmt.Errorf("settings: %w", lane.Invalidf("demo mode's settings are fixed; run the lane without 'demo' to configure it"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.cfg
	next.Lane.Name = strings.TrimSpace(ls.LaneName)
	next.Session.LockTimeout = laneconfig.Duration(ls.LockTimeout)
	next.Data.Dir = ls.DataDir
	next.Server.URL = strings.TrimSpace(ls.ServerURL)
	old := map[string]laneconfig.Instrument{}
	for _, in := range s.cfg.Instruments {
		old[in.Name] = in
	}
	next.Instruments = nil
	for _, x := range ls.Instruments {
		in := old[x.Name] // keeps the link overrides of an instrument kept
		in.Name, in.Profile, in.Port, in.Folder = x.Name, x.Profile, x.Port, x.Folder
		next.Instruments = append(next.Instruments, in)
	}
	var buf bytes.Buffer
	if err := laneconfig.EncodeTOML(&buf, &next); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	checked, _, err := laneconfig.Parse(s.File, buf.Bytes(), laneconfig.ParseOptions{Dir: filepath.Dir(s.File), Home: s.Home})
	if err != nil {
		var le *laneconfig.Error
		if errors.As(err, &le) {
			return fmt.Errorf("settings: %w", lane.Invalidf("%s", le.Error()))
		}
		return fmt.Errorf("settings: %v: %w", err, lane.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(s.File), 0o700); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	tmp := s.File + ".new"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := os.Rename(tmp, s.File); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	s.cfg = checked
	return nil
}

// Profiles implements ui.Settings.
func (s *Settings) Profiles() []string { return s.profiles }
