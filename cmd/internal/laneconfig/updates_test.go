package laneconfig_test

import (
	"strings"
	"testing"

	"github.com/examlane/examlane/cmd/internal/laneconfig"
)

func TestUpdatesReleaseKeys(t *testing.T) {
	const k1 = "c3ludGhldGljIGV4YW1wbGUga2V5IGZvciBkb2NzISE=" // 32 synthetic bytes
	const k2 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	tests := []struct {
		keys    string
		n       int
		problem string
	}{
		{"", 0, ""},
		{k1, 1, ""},
		{k1 + ", " + k2, 2, ""},
		{k1 + " not-base64", 0, "key 2 is not a release public key"},
		{"c2hvcnQ=", 0, "key 1 is not a release public key"},
	}
	for _, tt := range tests {
		cfg, _, err := laneconfig.Parse("t.toml", []byte("[updates]\nrelease_keys = \""+tt.keys+"\"\n"), laneconfig.ParseOptions{})
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), "updates.release_keys") {
				t.Errorf("release_keys %q: %v, want %q", tt.keys, err, tt.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("release_keys %q: %v", tt.keys, err)
			continue
		}
		if got := len(cfg.Updates.ReleaseKeyList()); got != tt.n || !cfg.Updates.Enabled || cfg.Updates.CheckEvery.Std().Hours() != 24 {
			t.Errorf("release_keys %q: %d keys, updates %+v", tt.keys, got, cfg.Updates)
		}
	}
}
