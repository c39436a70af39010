package laneconfig

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/examlane/examlane/devices/profile"
)

// builtinOnly loads the built-in profiles whatever devices.profiles says.
func builtinOnly(string) (*profile.Set, error) { return profile.Builtin(), nil }

var commentedRE = regexp.MustCompile(`^# ?(\[|[a-z_]+ = )`)

// uncomment returns the example with every commented-out key and table
// header made active.
func uncomment(src []byte) string {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if commentedRE.MatchString(l) {
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		}
	}
	return strings.Join(lines, "\n")
}

// TestExampleIsTheDefaults: the file `config init` writes, unedited,
// configures exactly the defaults, so an untouched file is safe.
func TestExampleIsTheDefaults(t *testing.T) {
	cfg, set, err := Parse("example.toml", exampleTOML, ParseOptions{Dir: "/lane"})
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	if set == nil {
		t.Fatal("no profile set")
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Errorf("the example configures\n%+v\nwant the defaults\n%+v", cfg, Defaults())
	}
}

// TestExampleUncommented: every commented-out example is valid as written.
func TestExampleUncommented(t *testing.T) {
	cfg, _, err := Parse("example.toml", []byte(uncomment(exampleTOML)), ParseOptions{Dir: "/lane", LoadProfiles: builtinOnly})
	if err != nil {
		t.Fatalf("the uncommented example does not parse: %v\n%s", err, uncomment(exampleTOML))
	}
	if cfg.Lane.Name != "Lane 1" || cfg.Server.URL != "https://10.0.0.5:8443" || cfg.Session.LockTimeout.Std() != 5*time.Minute {
		t.Errorf("example values not read: %+v", cfg)
	}
	if len(cfg.Instruments) != 3 || len(cfg.Cameras) != 1 {
		t.Fatalf("example has %d instruments, %d cameras; want 3, 1", len(cfg.Instruments), len(cfg.Cameras))
	}
	if cfg.Instruments[1].USBSerial == nil || *cfg.Instruments[1].USBSerial != "A10K3ZQ" || cfg.Devices.Profiles != "/lane/profiles.toml" {
		t.Errorf("example instruments = %+v, devices = %+v", cfg.Instruments, cfg.Devices)
	}
	def := Defaults()
	if cfg.Session != def.Session || cfg.Backup != def.Backup || cfg.Log != def.Log || cfg.Data != def.Data {
		t.Errorf("the example's [session], [data], [backup] or [log] differ from Defaults()")
	}
}
