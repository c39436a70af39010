package simulator

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/lane"
)

// Measurement is one transmission a simulated instrument can send.
type Measurement struct {
	// Frame is the bytes as the instrument sends them (one frame, or one
	// whole file for file drops).
	Frame []byte
	// BadChecksum is the same transmission with a wrong checksum, nil for
	// dialects without one.
	BadChecksum []byte
	// Name is the file name for file drops.
	Name string
}

// Source produces measurements. Implementations need not be safe for
// concurrent use.
type Source interface {
	Next() (Measurement, error)
}

// SynthConfig configures Synthesize.
type SynthConfig struct {
	Seed uint64
	// Now stamps device dates and file names (default time.Now).
	Now func() time.Time
	// Baseline, when set, is asked before every reading for the earlier
	// values of the patient being measured; readings are then drawn near
	// them (see Baseline). It is called on the goroutine that calls Next.
	Baseline func() Baseline
}

// Synthesize returns a Source of random plausible readings in the
// profile's dialect: RT prints for nidek-rt, lensmeter (DLM) or
// autorefractor (DRM) frames for nidek-dblock depending on what the profile
// measures, lensmeter messages for dcs, and JOIA files shaped by the
// profile's measures for joia. nidek-xml files are not synthesised (replay
// one instead).
func Synthesize(p profile.Profile, cfg SynthConfig) (Source, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &synthSource{p: p, syn: NewSynth(cfg.Seed), now: cfg.Now, base: cfg.Baseline}
	switch p.Dialect {
	case "nidek-rt", "nidek-dblock", "dcs", "joia":
		return s, nil
	}
	return nil, fmt.Errorf("simulator: synthesising %q is not implemented; replay a capture instead: %w", p.Dialect, lane.ErrInvalid)
}

type synthSource struct {
	p    profile.Profile
	syn  *Synth
	now  func() time.Time
	base func() Baseline
	seq  int
}

func ptr[T any](v T) *T { return &v }

func (s *synthSource) Next() (Measurement, error) {
	s.seq++
	y := s.syn
	var b Baseline
	if s.base != nil {
		b = s.base()
	}
	switch s.p.Dialect {
	case "nidek-rt":
		or, ol := y.PairNear(b)
		fr, fl := y.PairNear(b)
		lr, ll := s.glasses(b)
		add := s.add(b)
		fr.Add, fl.Add = add, add
		p := RTPrint{Model: s.p.Model, Date: s.now(),
			Lensmeter:   Eyes[lane.Refraction]{R: &lr, L: &ll},
			Objective:   Eyes[lane.Refraction]{R: &or, L: &ol},
			ObjectivePD: s.pd(b),
			Subjective:  Eyes[lane.Refraction]{R: ptr(fr), L: ptr(fl)},
			Final:       Eyes[lane.Refraction]{R: &fr, L: &fl},
		}
		p.Subjective.R.Add, p.Subjective.L.Add = 0, 0
		return Measurement{Frame: EncodeRT(p)}, nil
	case "nidek-dblock":
		if s.p.MeasuresKind(lane.KindLensometry) {
			r, l := s.lensmeter(b, true)
			lm := LMReading{Model: lmModel(s.p.Model), R: &r, L: &l}
			return Measurement{
				Frame:       EncodeDBlockLM(lm, DBlockOptions{CRCode: true}),
				BadChecksum: EncodeDBlockLM(lm, DBlockOptions{CRCode: true, BadChecksum: true}),
			}, nil
		}
		r, l := y.PairNear(b)
		r.Add, l.Add = 0, 0
		ar := ARReading{Model: s.p.Model, R: &r, L: &l, PD: s.pd(b)}
		return Measurement{
			Frame:       EncodeDBlockAR(ar, DBlockOptions{CRCode: true}),
			BadChecksum: EncodeDBlockAR(ar, DBlockOptions{CRCode: true, BadChecksum: true}),
		}, nil
	case "dcs":
		r, l := s.lensmeter(b, false)
		lm := LMReading{Model: s.p.Model, R: &r, L: &l}
		return Measurement{
			Frame:       EncodeDCSLensmeter(lm, DCSOptions{}),
			BadChecksum: EncodeDCSLensmeter(lm, DCSOptions{BadCRC: true}),
		}, nil
	case "joia":
		j := JOIAExport{Model: s.p.Model, Serial: "SIM01", Time: s.now(), Sequence: s.seq}
		switch {
		case s.p.MeasuresKind(lane.KindLensometry):
			r, l := s.glasses(b)
			j.LM = Eyes[lane.Refraction]{R: &r, L: &l}
		default:
			if s.p.MeasuresKind(lane.KindRefraction) {
				r, l := y.PairNear(b)
				r.Add, l.Add = 0, 0
				j.REF = Eyes[lane.Refraction]{R: &r, L: &l}
				j.PD = s.pd(b)
			}
			if s.p.MeasuresKind(lane.KindKeratometry) {
				j.KM = Eyes[lane.Keratometry]{R: ptr(s.k(b.KRight)), L: ptr(s.k(b.KLeft))}
			}
			if s.p.MeasuresKind(lane.KindIOP) {
				j.TM = Eyes[lane.MmHg]{R: ptr(s.iop(b.IOPRight)), L: ptr(s.iop(b.IOPLeft))}
			}
		}
		return Measurement{Frame: EncodeJOIA(j), Name: j.FileName()}, nil
	}
	return Measurement{}, fmt.Errorf("simulator: no synthesiser for %q", s.p.Dialect)
}

// glasses returns the powers of the patient's glasses: the last
// prescription exactly when known (the glasses were made to it), else a
// random pair.
func (s *synthSource) glasses(b Baseline) (r, l lane.Refraction) {
	if b.Right != nil && b.Left != nil {
		return *b.Right, *b.Left
	}
	return s.syn.Pair()
}

// lensmeter returns a lensmeter reading of the patient's glasses: the last
// prescription (with its add and prism) when known, else a random pair
// with a random add, and random prisms when prisms is set.
func (s *synthSource) lensmeter(b Baseline, prisms bool) (r, l lane.Refraction) {
	if b.Right != nil && b.Left != nil {
		return *b.Right, *b.Left
	}
	y := s.syn
	r, l = y.Pair()
	add := y.Near(lane.Refraction{}).Add
	r.Add, l.Add = add, add
	if prisms {
		r.Prism, l.Prism = y.Prism(), y.Prism()
	}
	return r, l
}

// add returns the last prescription's add, else a random one.
func (s *synthSource) add(b Baseline) lane.Diopters {
	if b.Right != nil && b.Right.Add != 0 {
		return b.Right.Add
	}
	return s.syn.Near(lane.Refraction{}).Add
}

// pd returns a PD near the last one, else a random one.
func (s *synthSource) pd(b Baseline) lane.Millimeters {
	if b.PD != 0 {
		return s.syn.PDNear(b.PD)
	}
	return s.syn.PD()
}

// k returns a keratometry near base, else a random one.
func (s *synthSource) k(base *lane.Keratometry) lane.Keratometry {
	if base != nil {
		return s.syn.KeratometryNear(*base)
	}
	return s.syn.Keratometry()
}

// iop returns a pressure near base, else a random one.
func (s *synthSource) iop(base lane.MmHg) lane.MmHg {
	if base != 0 {
		return s.syn.IOPNear(base)
	}
	return s.syn.IOP()
}

// lmModel spells a lensmeter model the way its ID item does ("LM-1000P").
func lmModel(m string) string {
	if m == "" {
		return "LM-1000P"
	}
	return m
}

// Replay returns a Source that sends the frames of a saved capture (raw
// bytes or hex text) in order and then starts again. A file-only dialect
// sends the whole file each time.
func Replay(dialect string, data []byte, name string) (Source, error) {
	if b, ok := codec.HexText(data); ok {
		data = b
	}
	c, err := codec.Lookup(dialect)
	if err != nil {
		return nil, fmt.Errorf("simulator: replay: %w", err)
	}
	spec := c.Framing()
	if spec == nil {
		return &replaySource{ms: []Measurement{{Frame: bytes.Clone(data), Name: name}}}, nil
	}
	f, err := codec.NewFramer(*spec)
	if err != nil {
		return nil, err
	}
	var ms []Measurement
	for _, fr := range append(f.Write(data, time.Time{}), f.Flush()...) {
		if fr.Err == nil {
			ms = append(ms, Measurement{Frame: withTerminator(fr.Data)})
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("simulator: replay: no complete %s frame in the capture: %w", dialect, lane.ErrInvalid)
	}
	return &replaySource{ms: ms}, nil
}

// withTerminator puts back the CR that framers swallow after a frame.
func withTerminator(frame []byte) []byte {
	out := bytes.Clone(frame)
	if len(out) > 0 && (out[0] == soh) {
		out = append(out, cr)
	}
	return out
}

type replaySource struct {
	ms []Measurement
	i  int
}

func (r *replaySource) Next() (Measurement, error) {
	if len(r.ms) == 0 {
		return Measurement{}, errors.New("simulator: nothing to replay")
	}
	m := r.ms[r.i%len(r.ms)]
	r.i++
	return m, nil
}
