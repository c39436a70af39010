package profile_test

import (
	"testing"

	"github.com/examlane/examlane/devices/profile"
)

// FuzzParse feeds arbitrary practice files to the profile loader: it must
// never panic, and whatever it accepts must be valid profiles.
func FuzzParse(f *testing.F) {
	f.Add([]byte(practiceFile))
	f.Add([]byte("[[profile]]\nname = \"nidek-rt5100\"\nlink = \"9600 8N1\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := profile.Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		for _, p := range s.All() {
			if err := p.Validate(); err != nil {
				t.Fatalf("accepted an invalid profile %q: %v", p.Name, err)
			}
			if got, err := s.Lookup(p.Name); err != nil || got.Name != p.Name {
				t.Fatalf("Lookup(%q) = %q, %v", p.Name, got.Name, err)
			}
		}
	})
}

// FuzzParseUSBID checks that accepted ids print back to themselves.
func FuzzParseUSBID(f *testing.F) {
	f.Add("0403:6001")
	f.Add("1A86:55d4")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := profile.ParseUSBID(s)
		if err != nil {
			return
		}
		again, err := profile.ParseUSBID(id.String())
		if err != nil || again != id {
			t.Fatalf("%q → %v → %v, %v", s, id, again, err)
		}
	})
}
