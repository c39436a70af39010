package profile

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// Set is a collection of profiles with lookup by name, alias or model.
// A Set is immutable after construction and safe for concurrent use.
type Set struct {
	list  []Profile
	index map[string]int
}

// Builtin returns the built-in profiles.
func Builtin() *Set {
	s, err := newSet(builtins(), "built-in")
	if err != nil {
		panic("profile: built-in profiles invalid: " + err.Error()) // caught by the tests
	}
	return s
}

func newSet(list []Profile, source string) (*Set, error) {
	s := &Set{index: map[string]int{}}
	for _, p := range list {
		if p.Source == "" {
			p.Source = source
		}
		if err := s.add(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// add inserts or replaces p (by name) and indexes its keys; an alias that
// collides with another profile's name or alias is an error.
func (s *Set) add(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for i, o := range s.list {
		if key(o.Name) == key(p.Name) {
			continue
		}
		for _, a := range p.Aliases {
			if key(a) == key(o.Name) || slices.ContainsFunc(o.Aliases, func(b string) bool { return key(a) == key(b) }) {
				return lane.Invalidf("profile %q: aliases: %q already names %q", p.Name, a, s.list[i].Name)
			}
		}
		if slices.ContainsFunc(o.Aliases, func(b string) bool { return key(p.Name) == key(b) }) {
			return lane.Invalidf("profile %q: name: collides with an alias of %q", p.Name, o.Name)
		}
	}
	replaced := false
	for i, o := range s.list {
		if key(o.Name) == key(p.Name) {
			s.list[i], replaced = p, true
		}
	}
	if !replaced {
		s.list = append(s.list, p)
	}
	s.reindex()
	return nil
}

func (s *Set) reindex() {
	s.index = map[string]int{}
	for i, p := range s.list {
		if _, ok := s.index[key(p.Model)]; !ok && p.Model != "" && p.Transport != TransportFile {
			s.index[key(p.Model)] = i // serial profile wins the bare model name
		}
	}
	for i, p := range s.list {
		if _, ok := s.index[key(p.Model)]; !ok && p.Model != "" {
			s.index[key(p.Model)] = i
		}
		if _, ok := s.index[key(p.Vendor+p.Model)]; !ok && p.Model != "" {
			s.index[key(p.Vendor+p.Model)] = i
		}
	}
	for i, p := range s.list {
		for _, a := range p.Aliases {
			s.index[key(a)] = i
		}
	}
	for i, p := range s.list {
		s.index[key(p.Name)] = i // names win over everything
	}
}

// Lookup finds a profile by name, alias or "vendor model"; matching
// ignores case and separators. The error wraps lane.ErrNotFound and lists
// close candidates.
func (s *Set) Lookup(name string) (Profile, error) {
	if i, ok := s.index[key(name)]; ok {
		return s.list[i], nil
	}
	var near []string
	k := key(name)
	for _, p := range s.list {
		if k != "" && (strings.Contains(key(p.Name), k) || strings.Contains(k, key(p.Model))) {
			near = append(near, p.Name)
		}
	}
	if len(near) > 0 {
		return Profile{}, fmt.Errorf("profile %q: %w (did you mean %s?)", name, lane.ErrNotFound, strings.Join(near, ", "))
	}
	return Profile{}, fmt.Errorf("profile %q: %w (see 'examlane devices profiles')", name, lane.ErrNotFound)
}

// All returns every profile sorted by name.
func (s *Set) All() []Profile {
	out := slices.Clone(s.list)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MatchUSB returns the profiles whose USB list contains id (and whose
// USBSerial, when set, equals serial).
func (s *Set) MatchUSB(id USBID, serial string) []Profile {
	var out []Profile
	for _, p := range s.All() {
		if slices.Contains(p.USB, id) && (p.USBSerial == "" || p.USBSerial == serial) {
			out = append(out, p)
		}
	}
	return out
}

// fileProfile is one [[profile]] table of a profile file. Pointers tell
// "absent" (keep the base's value) from "set to zero".
type fileProfile struct {
	Name        string          `toml:"name"`
	Base        string          `toml:"base"`
	Vendor      *string         `toml:"vendor"`
	Model       *string         `toml:"model"`
	Aliases     []string        `toml:"aliases"`
	Transport   *Transport      `toml:"transport"`
	Link        *transport.Link `toml:"link"`
	DTR         *bool           `toml:"dtr"`
	RTS         *bool           `toml:"rts"`
	WaitDSR     *bool           `toml:"wait_dsr"`
	WaitCTS     *bool           `toml:"wait_cts"`
	Dialect     *string         `toml:"dialect"`
	Measures    []lane.Kind     `toml:"measures"`
	Handshake   *Handshake      `toml:"handshake"`
	Request     *string         `toml:"request"`
	SendModes   []SendMode      `toml:"send_modes"`
	DefaultSend *SendMode       `toml:"default_send"`
	USB         []USBID         `toml:"usb"`
	USBSerial   *string         `toml:"usb_serial"`
	Port        *string         `toml:"port"`
	Folder      *string         `toml:"folder"`
	Pattern     *string         `toml:"pattern"`
	Stable      *duration       `toml:"stable"`
	InterByte   *duration       `toml:"inter_byte"`
	Whole       *duration       `toml:"whole"`
	Note        *string         `toml:"note"`
}

// duration reads "2s", "500ms" in TOML.
type duration time.Duration

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. \"2s\" or \"500ms\"", b)
	}
	*d = duration(v)
	return nil
}

type file struct {
	Profile []fileProfile `toml:"profile"`
}

// Load reads the built-in profiles plus the practice's file at path (when
// path is empty, the built-ins alone). A [[profile]] whose name matches an
// existing profile overrides only the keys it sets; one with `base = "…"`
// starts from that profile under a new name; any other must be complete.
// Errors name the file, the line and the key.
func Load(path string) (*Set, error) {
	s := Builtin()
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profiles %s: %w", path, err)
	}
	if err := s.merge(path, data); err != nil {
		return nil, err
	}
	return s, nil
}

// Parse is Load for a file already in memory; name is used in errors.
func Parse(name string, data []byte) (*Set, error) {
	s := Builtin()
	if err := s.merge(name, data); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) merge(name string, data []byte) error {
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.LastKey != "" {
				msg = fmt.Sprintf("key %q: %s", lastKey(pe.LastKey), msg)
			}
			return fmt.Errorf("profiles %s:%d: %s: %w", name, pe.Position.Line, msg, lane.ErrInvalid)
		}
		return fmt.Errorf("profiles %s: %v: %w", name, err, lane.ErrInvalid)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return fmt.Errorf("profiles %s:%d: unknown key %q: %w", name, findKeyLine(data, k[len(k)-1], 0), k[len(k)-1], lane.ErrInvalid)
	}
	for i, fp := range f.Profile {
		line := findTableLine(data, i)
		if strings.TrimSpace(fp.Name) == "" {
			return fmt.Errorf("profiles %s:%d: [[profile]] number %d: key \"name\": missing: %w", name, line, i+1, lane.ErrInvalid)
		}
		var p Profile
		switch {
		case fp.Base != "":
			base, err := s.Lookup(fp.Base)
			if err != nil {
				return fmt.Errorf("profiles %s:%d: profile %q: key \"base\": %v: %w", name, findKeyLine(data, "base", i), fp.Name, err, lane.ErrInvalid)
			}
			p = base
			p.Aliases = nil
		default:
			if i, ok := s.index[key(fp.Name)]; ok && key(s.list[i].Name) == key(fp.Name) {
				p = s.list[i]
			}
		}
		p.Name = fp.Name
		fp.apply(&p)
		p.Source = name
		if err := s.add(p); err != nil {
			return fmt.Errorf("profiles %s:%d: %w", name, blameLine(data, i, err), err)
		}
	}
	return nil
}

func (fp fileProfile) apply(p *Profile) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Vendor, fp.Vendor)
	set(&p.Model, fp.Model)
	set(&p.Dialect, fp.Dialect)
	set(&p.Request, fp.Request)
	set(&p.USBSerial, fp.USBSerial)
	set(&p.Port, fp.Port)
	set(&p.Folder, fp.Folder)
	set(&p.Pattern, fp.Pattern)
	set(&p.Note, fp.Note)
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setB(&p.DTR, fp.DTR)
	setB(&p.RTS, fp.RTS)
	setB(&p.WaitDSR, fp.WaitDSR)
	setB(&p.WaitCTS, fp.WaitCTS)
	setD := func(dst *time.Duration, v *duration) {
		if v != nil {
			*dst = time.Duration(*v)
		}
	}
	setD(&p.Stable, fp.Stable)
	setD(&p.InterByte, fp.InterByte)
	setD(&p.Whole, fp.Whole)
	if fp.Aliases != nil {
		p.Aliases = fp.Aliases
	}
	if fp.Transport != nil {
		p.Transport = *fp.Transport
	}
	if fp.Link != nil {
		p.Link = *fp.Link
	}
	if fp.Measures != nil {
		p.Measures = fp.Measures
	}
	if fp.Handshake != nil {
		p.Handshake = *fp.Handshake
	}
	if fp.SendModes != nil {
		p.SendModes = fp.SendModes
	}
	if fp.DefaultSend != nil {
		p.DefaultSend = *fp.DefaultSend
	}
	if fp.USB != nil {
		p.USB = fp.USB
	}
}

func lastKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[i+1:]
	}
	return k
}

var tableRE = regexp.MustCompile(`^\s*\[\[\s*profile\s*\]\]`)

// findTableLine returns the line of the n-th (0-based) [[profile]] header.
func findTableLine(data []byte, n int) int {
	seen := -1
	for i, l := range strings.Split(string(data), "\n") {
		if tableRE.MatchString(l) {
			seen++
			if seen == n {
				return i + 1
			}
		}
	}
	return 0
}

// findKeyLine returns the line where key is set inside the n-th profile
// table (or anywhere, when the table is not found).
func findKeyLine(data []byte, k string, n int) int {
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(k) + `"?\s*=`)
	lines := strings.Split(string(data), "\n")
	start := findTableLine(data, n)
	for i := max(start-1, 0); i < len(lines); i++ {
		if i > start-1 && start > 0 && tableRE.MatchString(lines[i]) {
			break
		}
		if re.MatchString(lines[i]) {
			return i + 1
		}
	}
	for i, l := range lines {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return start
}

var fieldRE = regexp.MustCompile(`: ([a-z_]+): `)

// blameLine finds the line of the key a validation error names.
func blameLine(data []byte, n int, err error) int {
	if m := fieldRE.FindStringSubmatch(err.Error()); m != nil {
		if l := findKeyLine(data, m[1], n); l > 0 {
			return l
		}
	}
	return findTableLine(data, n)
}
