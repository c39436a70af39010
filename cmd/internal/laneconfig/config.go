package laneconfig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
)

// File names.
const (
	// FileName is the configuration file's name in the per-OS
	// configuration directory.
	FileName = "lane.toml"
	// LastGoodName is the name of the copy of the last configuration that
	// loaded without problems, kept in the data directory.
	LastGoodName = "config.last-good.toml"
)

// Key modes (data.key_mode).
const (
	// KeyModeKeychain keeps the database key in the OS keychain only: with
	// no keychain reachable, patient data stays closed.
	KeyModeKeychain = "keychain"
	// KeyModePassphraseFallback uses the keychain when it is reachable and
	// otherwise a key derived from the practice passphrase, typed at start.
	// The practice opts in to it explicitly.
	KeyModePassphraseFallback = "passphrase-fallback"
)

// Config is one lane's configuration: the decoded lane.toml with defaults
// filled in. Struct tags carry what the schema, the validation and the
// documentation are made from: toml (key), doc (description), min and max
// (inclusive range of a number or duration), enum (allowed strings,
// separated by |), required, secret (shown redacted) and path (resolved
// against the file's directory).
type Config struct {
	Lane        Lane         `toml:"lane" doc:"Who this lane is."`
	Server      Server       `toml:"server" doc:"The practice server the lane syncs with."`
	Session     Session      `toml:"session" doc:"Sign-in and auto-lock policy."`
	Data        Data         `toml:"data" doc:"Where the local database lives and how its key is kept."`
	Backup      Backup       `toml:"backup" doc:"Scheduled copies of the local database."`
	Log         Log          `toml:"log" doc:"The diagnostic log (never patient data)."`
	Devices     Devices      `toml:"devices" doc:"Instrument profiles: the models the lane knows."`
	Instruments []Instrument `toml:"instrument" doc:"The instruments connected to this lane, one [[instrument]] table each."`
	Cameras     []Camera     `toml:"camera" doc:"Camera and image export folders the lane watches, one [[camera]] table each."`
	Updates     Updates      `toml:"updates" doc:"Checking the practice server for signed releases of the lane application."`
}

// Lane names the lane.
type Lane struct {
	Name     string `toml:"name" doc:"The lane's name as staff and the server see it, e.g. \"Lane 3\". Empty: the computer's host name." max:"64"`
	Location string `toml:"location" doc:"The practice location whose schedule the lane shows (the server's location id or name). Empty: every location." max:"64"`
	Demo     bool   `toml:"demo" doc:"Demo mode: simulated instruments and a local reference server, with synthetic patients only. The server URL must then be empty or a loopback address."`
}

// Server says where the practice server is. The lane's certificate and the
// pinned practice CA come from enrolment (examlane enroll) and live in the
// data directory, not here.
type Server struct {
	URL           string `toml:"url" doc:"The practice server's origin, e.g. \"https://10.0.0.5:8443\". https only (http is accepted for loopback addresses). Empty: the lane works alone and does not sync."`
	EnrolmentCode string `toml:"enrolment_code" doc:"A one-time enrolment code (XXXX-XXXX-XXXX-XXXX, valid 15 minutes) used once at the first start of a lane that is not enrolled yet; remove it afterwards. Shown redacted." secret:"true"`
}

// Session is the sign-in policy (see the security design: shift sessions
// and auto-lock).
type Session struct {
	LockTimeout   Duration `toml:"lock_timeout" doc:"Idle time after which the lane locks and hides patient data." min:"2m" max:"15m"`
	ShiftLength   Duration `toml:"shift_length" doc:"Longest shift session; after it a full sign-in (password and second factor) is needed again." min:"1h" max:"12h"`
	OfflineSignIn Duration `toml:"offline_sign_in" doc:"How long after the last contact with the server staff may still sign in offline, against the credentials the lane holds. 0s: never offline." min:"0s" max:"30d"`
}

// Data is the local database's place and key policy.
type Data struct {
	Dir       string   `toml:"dir" doc:"The data directory (database, enrolment, backups, images). Empty: the per-OS default. --data-dir overrides it." path:"true"`
	KeyMode   string   `toml:"key_mode" doc:"Where the database key is kept: \"keychain\" (the OS keychain only) or \"passphrase-fallback\" (the keychain, or where none is reachable a key derived from the practice passphrase; the practice must choose this explicitly)." enum:"keychain|passphrase-fallback"`
	Retention Duration `toml:"retention" doc:"How long a patient's records stay on the lane after their last appointment or change; older ones are purged once synced. The server keeps everything." min:"1d" max:"365d"`
}

// Backup schedules database backups (localdb.BackupScheduler).
type Backup struct {
	Enabled bool     `toml:"enabled" doc:"Write scheduled backups."`
	Every   Duration `toml:"every" doc:"Time between backups (one is also written at start)." min:"15m" max:"7d"`
	Keep    int      `toml:"keep" doc:"How many backup files to keep; older ones are deleted." min:"1" max:"365"`
	Dir     string   `toml:"dir" doc:"Where backups are written. Empty: the backups folder in the data directory." path:"true"`
}

// Log configures the diagnostic log (cmd/internal/logging).
type Log struct {
	Level      string `toml:"level" doc:"The lowest level written: debug, info, warn or error." enum:"debug|info|warn|error"`
	Dir        string `toml:"dir" doc:"The log directory. Empty: the per-OS default." path:"true"`
	MaxSizeMiB int    `toml:"max_size_mib" doc:"Size in MiB at which the log file is rotated." min:"1" max:"1024"`
	MaxFiles   int    `toml:"max_files" doc:"How many log files are kept, the current one included." min:"1" max:"100"`
}

// Devices points at the practice's instrument profile file, whose format the
// devices/profile package defines.
type Devices struct {
	Profiles string `toml:"profiles" doc:"A TOML file of [[profile]] tables adding or overriding instrument profiles (see 'examlane devices list --profiles'). Empty: the built-in profiles only." path:"true"`
}

// Instrument is one connected instrument: which profile it uses, where it is
// connected, and link settings that differ from the profile's.
type Instrument struct {
	Name    string `toml:"name" doc:"The instrument's name on this lane, unique, e.g. \"Autorefractor\"." required:"true" max:"64"`
	Profile string `toml:"profile" doc:"The instrument profile: a built-in name such as \"nidek-rt5100\" or one from devices.profiles. Case and separators do not matter." required:"true"`
	Port    string `toml:"port" doc:"Serial port (\"/dev/ttyUSB0\", \"COM3\"). Required for a serial profile without a fixed port; for a USB-serial profile, empty finds the port by the bridge's USB id. Not for file profiles."`
	Folder  string `toml:"folder" doc:"The folder a file-drop instrument writes its exports into. Required for a file profile without a fixed folder; only for file profiles." path:"true"`

	Link      *transport.Link `toml:"link,omitempty" doc:"Override the profile's serial link, e.g. \"9600 8N1\"."`
	DTR       *bool           `toml:"dtr,omitempty" doc:"Override: assert DTR after opening the port."`
	RTS       *bool           `toml:"rts,omitempty" doc:"Override: assert RTS after opening the port."`
	WaitDSR   *bool           `toml:"wait_dsr,omitempty" doc:"Override: wait for DSR before receiving (turn off for cables that do not wire it)."`
	WaitCTS   *bool           `toml:"wait_cts,omitempty" doc:"Override: wait for CTS before receiving."`
	USBSerial *string         `toml:"usb_serial,omitempty" doc:"Override: use only the USB-serial cable with this USB serial number."`
}

// Apply returns p with the instrument's port, folder and overrides applied:
// the profile the device hub should run. p is normally the instrument's
// profile from the set the configuration was validated against.
func (in Instrument) Apply(p profile.Profile) profile.Profile {
	if in.Port != "" {
		p.Port = in.Port
	}
	if in.Folder != "" {
		p.Folder = in.Folder
	}
	if in.Link != nil {
		p.Link = *in.Link
	}
	for _, o := range []struct {
		dst *bool
		v   *bool
	}{{&p.DTR, in.DTR}, {&p.RTS, in.RTS}, {&p.WaitDSR, in.WaitDSR}, {&p.WaitCTS, in.WaitCTS}} {
		if o.v != nil {
			*o.dst = *o.v
		}
	}
	if in.USBSerial != nil {
		p.USBSerial = *in.USBSerial
	}
	return p
}

// hasLinkOverrides reports whether any serial-only override is set.
func (in Instrument) hasLinkOverrides() bool {
	return in.Link != nil || in.DTR != nil || in.RTS != nil || in.WaitDSR != nil || in.WaitCTS != nil || in.USBSerial != nil
}

// Camera is a folder a camera (or its software) exports images into.
type Camera struct {
	Name    string `toml:"name" doc:"The camera's name on this lane, unique among instruments and cameras, e.g. \"Fundus camera\"." required:"true" max:"64"`
	Folder  string `toml:"folder" doc:"The folder the camera exports images into." required:"true" path:"true"`
	Pattern string `toml:"pattern" doc:"Which files to take, as a glob, e.g. \"*.dcm\". Empty: every file."`
}

// Updates configures the update checker (cmd/internal/update). The trusted
// release keys come from this file, installed by IT with the package, and
// never from the server that serves the releases.
type Updates struct {
	Enabled     bool     `toml:"enabled" doc:"Ask the practice server for a newer release at start and every check_every, and tell the administrator."`
	CheckEvery  Duration `toml:"check_every" doc:"Time between update checks." min:"1h" max:"7d"`
	ReleaseKeys string   `toml:"release_keys" doc:"The practice's release public keys (base64 Ed25519, from 'practiced release keygen'), separated by commas or spaces. A release is trusted only when one of them signed it. Empty: updates cannot be verified and none is offered."`
}

// Defaults returns the configuration used for every key a file leaves out.
func Defaults() *Config {
	return &Config{
		Session: Session{
			LockTimeout:   Duration(5 * time.Minute),
			ShiftLength:   Duration(12 * time.Hour),
			OfflineSignIn: Duration(7 * Day),
		},
		Data: Data{
			KeyMode:   KeyModeKeychain,
			Retention: Duration(30 * Day),
		},
		Backup: Backup{
			Enabled: true,
			Every:   Duration(24 * time.Hour),
			Keep:    7,
		},
		Log: Log{
			Level:      "info",
			MaxSizeMiB: 10,
			MaxFiles:   5,
		},
		Updates: Updates{
			Enabled:    true,
			CheckEvery: Duration(24 * time.Hour),
		},
	}
}

// Day is 24 hours, the unit of a "7d" duration.
const Day = 24 * time.Hour

// Duration is a time span written as a Go duration ("90s", "5m", "1h30m")
// or a whole number of days, optionally followed by a Go duration ("7d",
// "1d12h").
type Duration time.Duration

// ParseDuration parses the Duration syntax. Negative spans are refused.
func ParseDuration(s string) (Duration, error) {
	bad := fmt.Errorf("%q is not a duration: want e.g. \"90s\", \"5m\", \"12h\" or \"7d\"", s)
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, bad
	}
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		n, err := strconv.ParseUint(t[:i], 10, 16)
		if err != nil || i == 0 {
			return 0, bad
		}
		days = time.Duration(n) * Day
		t = t[i+1:]
		if t == "" {
			return Duration(days), nil
		}
	}
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		return 0, bad
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 || d > math.MaxInt64-days {
		return 0, bad
	}
	return Duration(days + d), nil
}

// String formats d as "7d" (a whole number of days, two or more), or
// else as a Go duration without empty units: "24h", "36h", "5m", "1h30m".
// ParseDuration reads it back.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	if v%Day == 0 && v >= 2*Day {
		return strconv.FormatInt(int64(v/Day), 10) + "d"
	}
	s := v.String()
	// time.Duration writes "5m0s" and "1h0m0s": drop the empty units.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
