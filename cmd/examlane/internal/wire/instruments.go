package wire

import (
	"context"
	"fmt"
	"slices"

	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/ui"
)

// Instrument is one configured instrument as Instruments knows it.
type Instrument struct {
	// Name is the instrument's name on the lane (the hub's name).
	Name    string
	Profile profile.Profile
	// Port is the serial port, Folder the drop folder (as configured).
	Port, Folder string
	// Measure, when set, makes the instrument take a reading: demo mode's
	// simulators. Real instruments are triggered at the instrument.
	Measure func()
}

// StateSource returns the instruments' current states (the hub's States).
type StateSource func() []lane.InstrumentState

// RxSender sends a prescription to a phoropter on a serial port.
type RxSender func(ctx context.Context, p profile.Profile, port string, rx lane.RxPair) error

// Instruments implements ui.Instruments over the device hub's states, the
// simulators' Measure and a prescription sender. It is safe for concurrent
// use.
type Instruments struct {
	list   []Instrument
	states StateSource
	send   RxSender
}

var _ ui.Instruments = (*Instruments)(nil)

// NewInstruments returns the adapter for list; states may be nil (every
// instrument then shows as disconnected), send nil (no phoropter takes a
// prescription).
func NewInstruments(list []Instrument, states StateSource, send RxSender) *Instruments {
	return &Instruments{list: slices.Clone(list), states: states, send: send}
}

// KindOf names what an instrument with profile p is, in words, as the
// pretest and exam screens group them.
func KindOf(p profile.Profile) string {
	has := func(k lane.Kind) bool { return slices.Contains(p.Measures, k) }
	switch {
	case p.CanReceive() || p.Dialect == "nidek-rt":
		return "phoropter"
	case has(lane.KindRefraction):
		return "autorefractor"
	case has(lane.KindLensometry):
		return "lensmeter"
	case has(lane.KindIOP):
		return "tonometer"
	case has(lane.KindKeratometry):
		return "keratometer"
	}
	return "instrument"
}

// List implements ui.Instruments: configuration order, with the hub's
// latest state.
func (in *Instruments) List() []ui.InstrumentInfo {
	var states []lane.InstrumentState
	if in.states != nil {
		states = in.states()
	}
	out := make([]ui.InstrumentInfo, 0, len(in.list))
	for _, x := range in.list {
		st := lane.InstrumentState{Profile: x.Profile.Name, Name: x.Name, State: "disconnected", Port: x.Port}
		if x.Port == "" {
			st.Port = x.Folder
		}
		for _, s := range states {
			if s.Name == x.Name {
				st = s
				break
			}
		}
		out = append(out, ui.InstrumentInfo{
			InstrumentState: st,
			Kind:            KindOf(x.Profile),
			CanMeasure:      x.Measure != nil,
			AcceptsRx:       in.send != nil && x.Profile.Dialect == "nidek-rt" && x.Port != "",
		})
	}
	return out
}

func (in *Instruments) find(p string) (Instrument, bool) {
	for _, x := range in.list {
		if x.Profile.Name == p {
			return x, true
		}
	}
	return Instrument{}, false
}

// Measure implements ui.Instruments. Only simulated instruments can be
// asked; the reading comes back through the hub as a capture.
func (in *Instruments) Measure(_ context.Context, p string) error {
	x, ok := in.find(p)
	if !ok || x.Measure == nil {
		return fmt.Errorf("measure %s: the lane cannot trigger this instrument: %w", p, lane.ErrUnavailable)
	}
	x.Measure()
	return nil
}

// SendRx implements ui.Instruments for NIDEK RT phoropters.
func (in *Instruments) SendRx(ctx context.Context, p string, rx lane.RxPair) error {
	x, ok := in.find(p)
	if !ok || in.send == nil || x.Profile.Dialect != "nidek-rt" || x.Port == "" {
		return fmt.Errorf("send rx to %s: %w", p, lane.ErrUnavailable)
	}
	if err := in.send(ctx, x.Profile, x.Port, rx); err != nil {
		return fmt.Errorf("send rx to %s: %w", x.Name, err)
	}
	return nil
}
