package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/usb"
)

func init() {
	register(&command{
		Path:    "devices list",
		Summary: "list serial ports and USB devices, with the instrument profile each matches",
		Usage:   "[--json] [--profiles FILE]",
		Help: `Lists the serial ports the system offers and the USB devices on the bus, one
per line:

  port /dev/ttyUSB0 usb 0403:6001 serial A10K3ZQ "FTDI FT232R USB UART" profile front-lensmeter
  usb 1/4 0403:6001 "FTDI FT232R USB UART" bridge "FTDI FT232R/FT232BM" port /dev/ttyUSB0 profile front-lensmeter

A USB device that is a known USB-serial bridge (FTDI, Prolific, Silicon Labs,
WCH, ...) shows its serial port. "profile" names the instrument profiles whose
usb ids (and usb_serial) or port match; built-in profiles name no USB ids, as
the bridge depends on the cable: add them in the practice profile file.

When USB devices cannot be listed (no permission, no libusb, a container
without USB) a "note" line says so and the serial ports are still listed.

--json prints one JSON object per line instead, with "type" port, usb or note.`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("json", false, "print JSON lines")
			fs.String("profiles", "", "practice profile `FILE` (default: instruments.toml in the data directory)")
		},
		Run: runDevicesList,
	})
	register(&command{
		Path:    "devices profiles",
		Summary: "list the instrument profiles (built-in and the practice's)",
		Usage:   "[--json] [--profiles FILE]",
		Help: `Lists every instrument profile: name, model, transport, link settings,
dialect, handshake and where it came from. The practice adds or overrides
profiles in a TOML file (see the README section "Instruments"); a mistake in
it is reported with its line and key.`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("json", false, "print JSON lines")
			fs.String("profiles", "", "practice profile `FILE` (default: instruments.toml in the data directory)")
		},
		Run: runDevicesProfiles,
	})
}

// loadProfiles reads the built-in profiles plus the practice file named by
// flagValue, or instruments.toml in the data directory when it exists.
func loadProfiles(e *env, flagValue string) (*profile.Set, error) {
	path := flagValue
	if path == "" && e.DataDir != "" {
		p := filepath.Join(e.DataDir, "instruments.toml")
		if _, err := os.Stat(p); err == nil {
			path = p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return profile.Load(path)
}

type listLine struct {
	Type         string   `json:"type"` // port, usb, note
	Path         string   `json:"path,omitempty"`
	USB          string   `json:"usb,omitempty"` // VID:PID
	Bus          int      `json:"bus,omitempty"`
	Address      int      `json:"address,omitempty"`
	Serial       string   `json:"serial,omitempty"`
	Manufacturer string   `json:"manufacturer,omitempty"`
	Product      string   `json:"product,omitempty"`
	Bridge       string   `json:"bridge,omitempty"`
	Port         string   `json:"port,omitempty"`
	Profiles     []string `json:"profiles"`
	Note         string   `json:"note,omitempty"`
}

func runDevicesList(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments")
	}
	set, err := loadProfiles(e, fs.Lookup("profiles").Value.String())
	if err != nil {
		return err
	}
	asJSON := fs.Lookup("json").Value.String() == "true"
	sc := usb.NewScanner(nil)
	defer sc.Close()
	snap, err := sc.Scan()
	if err != nil {
		return err
	}
	var lines []listLine
	for _, p := range snap.Ports {
		l := listLine{Type: "port", Path: p.Path, Serial: p.Serial, Manufacturer: p.Manufacturer, Product: p.Product, Profiles: []string{}}
		if p.USB {
			l.USB = p.ID.String()
			l.Profiles = profileNames(set.MatchUSB(p.ID, p.Serial))
		}
		for _, pr := range set.All() {
			if pr.Port == p.Path && !contains(l.Profiles, pr.Name) {
				l.Profiles = append(l.Profiles, pr.Name)
			}
		}
		lines = append(lines, l)
	}
	for _, d := range snap.Devices {
		l := listLine{Type: "usb", USB: d.ID.String(), Bus: d.Bus, Address: d.Address, Serial: d.Serial,
			Manufacturer: d.Manufacturer, Product: d.Product, Port: d.Port, Profiles: profileNames(set.MatchUSB(d.ID, d.Serial))}
		if d.Bridge != nil {
			l.Bridge = d.Bridge.Vendor + " " + d.Bridge.Chip
		}
		lines = append(lines, l)
	}
	if snap.USBNote != "" {
		lines = append(lines, listLine{Type: "note", Note: snap.USBNote, Profiles: []string{}})
	}
	if len(snap.Ports) == 0 && len(snap.Devices) == 0 && snap.USBNote == "" {
		lines = append(lines, listLine{Type: "note", Note: "no serial ports and no USB devices found", Profiles: []string{}})
	}
	for _, l := range lines {
		if asJSON {
			b, err := json.Marshal(l)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		fmt.Fprintln(e.Stdout, l.text())
	}
	return nil
}

func (l listLine) text() string {
	var b strings.Builder
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s %s", k, v)
		}
	}
	q := func(s string) string {
		if s == "" {
			return ""
		}
		return fmt.Sprintf("%q", s)
	}
	switch l.Type {
	case "note":
		return "note " + l.Note
	case "port":
		b.WriteString("port " + l.Path)
		add("usb", l.USB)
		add("serial", l.Serial)
		if n := strings.TrimSpace(l.Manufacturer + " " + l.Product); n != "" {
			b.WriteString(" " + q(n))
		}
	case "usb":
		fmt.Fprintf(&b, "usb %d/%d %s", l.Bus, l.Address, l.USB)
		if n := strings.TrimSpace(l.Manufacturer + " " + l.Product); n != "" {
			b.WriteString(" " + q(n))
		}
		add("serial", l.Serial)
		add("bridge", q(l.Bridge))
		add("port", l.Port)
	}
	if len(l.Profiles) > 0 {
		add("profile", strings.Join(l.Profiles, ","))
	}
	return b.String()
}

func profileNames(ps []profile.Profile) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

type profileLine struct {
	Name      string   `json:"name"`
	Vendor    string   `json:"vendor"`
	Model     string   `json:"model"`
	Transport string   `json:"transport"`
	Link      string   `json:"link,omitempty"`
	Dialect   string   `json:"dialect"`
	Handshake string   `json:"handshake,omitempty"`
	Measures  []string `json:"measures"`
	SendModes []string `json:"send_modes,omitempty"`
	Port      string   `json:"port,omitempty"`
	Folder    string   `json:"folder,omitempty"`
	USB       []string `json:"usb,omitempty"`
	Source    string   `json:"source"`
	Note      string   `json:"note"`
}

func runDevicesProfiles(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments")
	}
	set, err := loadProfiles(e, fs.Lookup("profiles").Value.String())
	if err != nil {
		return err
	}
	asJSON := fs.Lookup("json").Value.String() == "true"
	for _, p := range set.All() {
		l := profileLine{Name: p.Name, Vendor: p.Vendor, Model: p.Model, Transport: string(p.Transport), Link: p.Link.String(),
			Dialect: p.Dialect, Handshake: string(p.Handshake), Port: p.Port, Folder: p.Folder, Source: p.Source, Note: p.Note, Measures: []string{}}
		for _, k := range p.Measures {
			l.Measures = append(l.Measures, string(k))
		}
		for _, m := range p.SendModes {
			l.SendModes = append(l.SendModes, string(m))
		}
		for _, u := range p.USB {
			l.USB = append(l.USB, u.String())
		}
		if asJSON {
			b, err := json.Marshal(l)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		where := l.Link
		if p.Transport == profile.TransportFile {
			where = "folder " + map[bool]string{true: p.Folder, false: "(set folder)"}[p.Folder != ""]
		}
		fmt.Fprintf(e.Stdout, "%-24s %-8s %-10s %-10s %-10s %-13s %s\n", p.Name, p.Vendor, p.Model, p.Transport, where, p.Dialect, strings.Join(l.Measures, ","))
	}
	return nil
}
