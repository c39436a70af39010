package laneconfig

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
)

// Redacted is what a secret's value is replaced with when shown.
const Redacted = "<redacted>"

// Validate checks a configuration built in code (Parse validates what it
// reads): ranges, required keys, the server URL, and every instrument
// against profiles (nil skips the profile checks). The error is an *Error
// whose problems have no file or line.
func (c *Config) Validate(profiles *profile.Set) error {
	issues := c.checkTags()
	issues = append(issues, c.checkRules(profiles)...)
	if len(issues) == 0 {
		return nil
	}
	return &Error{Problems: place("", keyIndex{}, issues)}
}

// validate runs every check, loading the profiles with load (profile.Load
// when nil).
func (c *Config) validate(load func(string) (*profile.Set, error)) (*profile.Set, []issue) {
	if load == nil {
		load = profile.Load
	}
	issues := c.checkTags()
	set, err := load(c.Devices.Profiles)
	if err != nil {
		issues = append(issues, issue{path: "devices.profiles", msg: trimInvalid(err.Error())})
		set = nil
	}
	issues = append(issues, c.checkRules(set)...)
	return set, issues
}

// trimInvalid drops the ": invalid input" that lane.ErrInvalid adds: a
// problem list says that already.
func trimInvalid(s string) string {
	return strings.TrimSuffix(s, ": "+lane.ErrInvalid.Error())
}

// checkTags applies the struct tags: required, max (string length or
// number), min, enum; and refuses control characters in any string.
func (c *Config) checkTags() []issue {
	var issues []issue
	add := func(key, format string, args ...any) {
		issues = append(issues, issue{path: key, msg: fmt.Sprintf(format, args...)})
	}
	walkFields(reflect.ValueOf(c).Elem(), "", func(f reflect.StructField, v reflect.Value, key string) {
		minTag, maxTag := f.Tag.Get("min"), f.Tag.Get("max")
		switch {
		case v.Kind() == reflect.String:
			s := v.String()
			if f.Tag.Get("required") == "true" && strings.TrimSpace(s) == "" {
				add(key, "missing")
				return
			}
			if strings.ContainsFunc(s, unicode.IsControl) {
				add(key, "contains a control character")
				return
			}
			if n, err := strconv.Atoi(maxTag); err == nil && utf8.RuneCountInString(s) > n {
				add(key, "longer than %d characters", n)
			}
			if e := f.Tag.Get("enum"); e != "" && !slices.Contains(strings.Split(e, "|"), s) {
				add(key, "%q is not one of %s", s, strings.ReplaceAll(e, "|", ", "))
			}
		case v.Type() == reflect.TypeFor[Duration]():
			d := Duration(v.Int())
			if lo, err := ParseDuration(minTag); err == nil && d < lo {
				add(key, "%s is too short (at least %s)", d, minTag)
			}
			if hi, err := ParseDuration(maxTag); err == nil && d > hi {
				add(key, "%s is too long (at most %s)", d, maxTag)
			}
		case v.Kind() == reflect.Int:
			n := v.Int()
			if lo, err := strconv.ParseInt(minTag, 10, 64); err == nil && n < lo {
				add(key, "%d is too small (at least %d)", n, lo)
			}
			if hi, err := strconv.ParseInt(maxTag, 10, 64); err == nil && n > hi {
				add(key, "%d is too large (at most %d)", n, hi)
			}
		}
	})
	return issues
}

// checkRules applies the checks that involve more than one key.
func (c *Config) checkRules(set *profile.Set) []issue {
	var issues []issue
	add := func(key, format string, args ...any) {
		issues = append(issues, issue{path: key, msg: fmt.Sprintf(format, args...)})
	}

	var host string
	if c.Server.URL != "" {
		var msg string
		host, msg = checkServerURL(c.Server.URL)
		if msg != "" {
			add("server.url", "%s", msg)
		}
	}
	if c.Lane.Demo && c.Server.URL != "" && host != "" && !isLoopback(host) {
		add("server.url", "demo mode sends synthetic patients to a local reference server only: use a loopback address (127.0.0.1, ::1, localhost) or leave url empty")
	}
	if c.Server.EnrolmentCode != "" {
		if !validEnrolmentCode(c.Server.EnrolmentCode) {
			add("server.enrolment_code", "not an enrolment code: want 16 letters and digits, XXXX-XXXX-XXXX-XXXX")
		} else if c.Server.URL == "" {
			add("server.enrolment_code", "set, but server.url is empty: enrolment needs the server")
		}
	}
	if msg := c.Updates.checkReleaseKeys(); msg != "" {
		add("updates.release_keys", "%s", msg)
	}

	names := map[string]bool{}
	uniqueName := func(key, name string) {
		k := strings.ToLower(strings.TrimSpace(name))
		if k == "" {
			return
		}
		if names[k] {
			add(key, "%q names another instrument or camera too", name)
		}
		names[k] = true
	}
	folders := map[string]bool{}
	uniqueFolder := func(key, folder string) {
		if folder == "" {
			return
		}
		if folders[folder] {
			add(key, "%q is watched for another instrument or camera too", folder)
		}
		folders[folder] = true
	}
	ports := map[string]bool{}

	for i, in := range c.Instruments {
		p := fmt.Sprintf("instrument[%d]", i)
		uniqueName(p+".name", in.Name)
		uniqueFolder(p+".folder", in.Folder)
		if in.Port != "" {
			k := strings.ToLower(in.Port)
			if ports[k] {
				add(p+".port", "%q is the port of another instrument too", in.Port)
			}
			ports[k] = true
		}
		if set == nil || strings.TrimSpace(in.Profile) == "" {
			continue
		}
		prof, err := set.Lookup(in.Profile)
		if err != nil {
			add(p+".profile", "%s", err)
			continue
		}
		switch prof.Transport {
		case profile.TransportSerial, profile.TransportUSBSerial:
			if in.Folder != "" {
				add(p+".folder", "only for file instruments: profile %q is connected by %s", prof.Name, prof.Transport)
			}
			if prof.Transport == profile.TransportSerial && in.Port == "" && prof.Port == "" {
				add(p+".port", "missing: profile %q is a serial instrument; give its port, e.g. \"/dev/ttyS0\" or \"COM3\"", prof.Name)
			}
			if prof.Transport == profile.TransportSerial && in.USBSerial != nil {
				add(p+".usb_serial", "only for usb-serial instruments: profile %q is plain serial", prof.Name)
			}
		case profile.TransportFile:
			if in.Port != "" {
				add(p+".port", "only for serial instruments: profile %q reads files from a folder", prof.Name)
			}
			if in.hasLinkOverrides() {
				for _, o := range []struct {
					key string
					set bool
				}{{"link", in.Link != nil}, {"dtr", in.DTR != nil}, {"rts", in.RTS != nil},
					{"wait_dsr", in.WaitDSR != nil}, {"wait_cts", in.WaitCTS != nil}, {"usb_serial", in.USBSerial != nil}} {
					if o.set {
						add(p+"."+o.key, "only for serial instruments: profile %q reads files from a folder", prof.Name)
					}
				}
			}
			if in.Folder == "" && prof.Folder == "" {
				add(p+".folder", "missing: profile %q reads the files an instrument exports; give the folder", prof.Name)
			}
		}
		if err := in.Apply(prof).Validate(); err != nil {
			add(p, "%s", trimInvalid(err.Error()))
		}
	}
	for i, cam := range c.Cameras {
		p := fmt.Sprintf("camera[%d]", i)
		uniqueName(p+".name", cam.Name)
		uniqueFolder(p+".folder", cam.Folder)
		if cam.Pattern != "" {
			if _, err := path.Match(cam.Pattern, "x"); err != nil {
				add(p+".pattern", "%q is not a valid glob", cam.Pattern)
			}
		}
	}
	return issues
}

// checkServerURL returns the URL's host name and what is wrong with it
// ("" when nothing). The message never repeats the URL: it could carry a
// password.
func checkServerURL(s string) (host, msg string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", "not a URL: want e.g. \"https://10.0.0.5:8443\""
	case u.Scheme != "https" && u.Scheme != "http":
		return "", "want an https:// URL, e.g. \"https://10.0.0.5:8443\""
	case u.User != nil:
		return u.Hostname(), "must not contain a user name or password: the lane authenticates with its enrolment certificate"
	case u.Hostname() == "":
		return "", "no host: want e.g. \"https://10.0.0.5:8443\""
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return u.Hostname(), "want only the scheme, host and port: the API paths come from enrolment"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return u.Hostname(), "port " + strconv.Quote(p) + " is not between 1 and 65535"
		}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return u.Hostname(), "plain http is allowed for loopback addresses only (127.0.0.1, ::1, localhost): use https"
	}
	return u.Hostname(), ""
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// crockford is the enrolment code alphabet (Crockford base32).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// validEnrolmentCode reports whether s is an enrolment code as a person may
// type it: 16 Crockford base32 characters, any case, with or without dashes
// or spaces, O for 0 and I or L for 1 (the server's NormalizeCode rules).
func validEnrolmentCode(s string) bool {
	n := 0
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O' || r == 'I' || r == 'L' || (r < utf8.RuneSelf && strings.ContainsRune(crockford, r)):
			n++
		default:
			return false
		}
	}
	return n == 16
}

// Notes are remarks about a valid configuration that an administrator
// should see: choices that weaken protection or turn features off.
func (c *Config) Notes() []string {
	var notes []string
	if c.Data.KeyMode == KeyModePassphraseFallback {
		notes = append(notes, "data.key_mode = \"passphrase-fallback\": where no keychain is reachable the database key is derived from the practice passphrase, which staff type at start")
	}
	if c.Lane.Demo {
		notes = append(notes, "lane.demo = true: simulated instruments and synthetic patients only; do not use for real patients")
	}
	if c.Server.URL == "" && !c.Lane.Demo {
		notes = append(notes, "server.url is empty: the lane does not sync")
	}
	if !c.Backup.Enabled {
		notes = append(notes, "backup.enabled = false: no scheduled backups of the lane database")
	}
	if c.Session.OfflineSignIn == 0 {
		notes = append(notes, "session.offline_sign_in = \"0s\": nobody can sign in while the server is unreachable")
	}
	return notes
}

// Redacted returns a copy of c in which every secret that is set (tag
// secret:"true") reads "<redacted>".
func (c *Config) Redacted() *Config {
	return c.mapSecrets(func(string) string { return Redacted })
}

// withoutSecrets returns a copy of c with every secret emptied.
func (c *Config) withoutSecrets() *Config {
	return c.mapSecrets(func(string) string { return "" })
}

func (c *Config) mapSecrets(f func(string) string) *Config {
	out := *c
	out.Instruments = slices.Clone(c.Instruments)
	out.Cameras = slices.Clone(c.Cameras)
	walkFields(reflect.ValueOf(&out).Elem(), "", func(sf reflect.StructField, v reflect.Value, _ string) {
		if sf.Tag.Get("secret") == "true" && v.Kind() == reflect.String && v.String() != "" {
			v.SetString(f(v.String()))
		}
	})
	return &out
}
