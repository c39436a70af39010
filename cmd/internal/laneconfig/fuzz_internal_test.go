package laneconfig

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/examlane/examlane/devices/profile"
)

// FuzzParse feeds arbitrary files to Parse: it must not panic, and a file
// it accepts must survive the last good copy's round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add(exampleTOML)
	opts := ParseOptions{Dir: "/lane", Home: "/home/tech", LoadProfiles: func(string) (*profile.Set, error) {
		return profile.Builtin(), nil // never read files the input names
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := Parse("fuzz.toml", data, opts)
		if err != nil {
			return
		}
		enc, err := encodeLastGood(cfg, "fuzz.toml")
		if err != nil {
			t.Fatalf("encode an accepted configuration: %v", err)
		}
		back, _, err := Parse("copy.toml", enc, opts)
		if err != nil {
			t.Fatalf("the last good copy of an accepted file does not parse: %v\n%s", err, enc)
		}
		want := cfg.withoutSecrets()
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip changed the configuration:\n%+v\nwant\n%+v", back, want)
		}
	})
}

// FuzzIndexKeys checks that the key scanner terminates on anything and
// reports only lines that exist.
func FuzzIndexKeys(f *testing.F) {
	f.Add(exampleTOML)
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		for k, l := range indexKeys(data) {
			if l < 1 || l > lines {
				t.Fatalf("key %q at line %d of %d", k, l, lines)
			}
		}
	})
}
