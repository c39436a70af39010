package codec

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/examlane/examlane/lane"
)

// Report is the JSON contract of `examlane devices parse` and `examlane
// devices listen`: one object per capture, written on one line. Values are
// decimal numbers in the units and cylinder convention the device reported;
// a value that does not apply to a reading is left out.
type Report struct {
	File       string          `json:"file"`
	Format     string          `json:"format"`
	Vendor     string          `json:"vendor"`
	Model      string          `json:"model"`
	DeviceTime *string         `json:"device_time"` // RFC 3339, null when the device sent none
	Readings   []ReportReading `json:"readings"`
	Warnings   []string        `json:"warnings"`
}

// ReportReading is one reading of a Report.
type ReportReading struct {
	Kind           string `json:"kind"` // refraction, keratometry, iop, pachymetry, lensometry, pd, va, error
	Eye            string `json:"eye"`  // R, L, B ("?" only for a lensmeter's single-lens reading)
	Representative bool   `json:"representative"`
	Source         string `json:"source"` // autorefraction, objective, subjective, final, unaided, lensmeter, ...

	Sphere       *json.Number `json:"sphere,omitempty"`
	Cylinder     *json.Number `json:"cylinder,omitempty"`
	Axis         *int         `json:"axis,omitempty"`
	Add          *json.Number `json:"add,omitempty"`
	CylinderMode string       `json:"cylinder_mode,omitempty"` // "-" or "+"
	PrismH       *json.Number `json:"prism_h,omitempty"`
	PrismHBase   string       `json:"prism_h_base,omitempty"` // in, out
	PrismV       *json.Number `json:"prism_v,omitempty"`
	PrismVBase   string       `json:"prism_v_base,omitempty"` // up, down

	R1mm   *json.Number `json:"r1_mm,omitempty"`
	R1D    *json.Number `json:"r1_d,omitempty"`
	R1Axis *int         `json:"r1_axis,omitempty"`
	R2mm   *json.Number `json:"r2_mm,omitempty"`
	R2D    *json.Number `json:"r2_d,omitempty"`
	R2Axis *int         `json:"r2_axis,omitempty"`

	IOPmmHg *json.Number `json:"iop_mmhg,omitempty"`
	CCTum   *int         `json:"cct_um,omitempty"`

	PDmm     *json.Number `json:"pd_mm,omitempty"`
	Distance string       `json:"distance,omitempty"` // far, near

	VADecimal *json.Number `json:"va_decimal,omitempty"`
	VAText    string       `json:"va_text,omitempty"`

	// Confidence is the device's confidence index or reliability mark,
	// verbatim, when it sent one.
	Confidence string `json:"confidence,omitempty"`
	Message    string `json:"message,omitempty"` // for kind "error"
}

// NewReport turns a decoded capture into its report; file names the input
// (a path, or a port for `devices listen`).
func NewReport(file string, c lane.Capture) Report {
	r := Report{
		File:     file,
		Format:   c.Format,
		Vendor:   c.Instrument.Vendor,
		Model:    c.Instrument.Model,
		Readings: make([]ReportReading, 0, len(c.Readings)),
		Warnings: append([]string{}, c.Warnings...),
	}
	if !c.DeviceTime.IsZero() {
		s := c.DeviceTime.Format(time.RFC3339)
		r.DeviceTime = &s
	}
	for _, m := range c.Readings {
		r.Readings = append(r.Readings, reportReading(m))
	}
	return r
}

func reportReading(m lane.Measurement) ReportReading {
	rr := ReportReading{
		Kind:           string(m.Kind),
		Eye:            m.Eye.String(),
		Representative: m.Representative,
		Source:         string(m.Source),
		Confidence:     m.Confidence,
	}
	if m.Kind == lane.KindError {
		rr.Message = m.Message
	}
	if rf := m.Refraction; rf != nil {
		rr.Sphere = diopters(rf.Sphere)
		rr.Cylinder = diopters(rf.Cylinder)
		if rf.Axis != 0 {
			rr.Axis = intp(int(rf.Axis))
		}
		if rf.Add != 0 {
			rr.Add = diopters(rf.Add)
		}
		rr.CylinderMode = m.CylinderSign.String()
		if rf.Prism.H != 0 {
			rr.PrismH = prism(rf.Prism.H)
			switch rf.Prism.HBase {
			case lane.BaseIn:
				rr.PrismHBase = "in"
			case lane.BaseOut:
				rr.PrismHBase = "out"
			}
		}
		if rf.Prism.V != 0 {
			rr.PrismV = prism(rf.Prism.V)
			switch rf.Prism.VBase {
			case lane.BaseUp:
				rr.PrismVBase = "up"
			case lane.BaseDown:
				rr.PrismVBase = "down"
			}
		}
		if HasMethod(m, MethodNear) {
			rr.Distance = lane.DistanceNear.String()
		}
	}
	if k := m.Keratometry; k != nil {
		rr.R1mm, rr.R1D, rr.R1Axis = meridian(k.K1)
		rr.R2mm, rr.R2D, rr.R2Axis = meridian(k.K2)
	}
	if p := m.IOP; p != nil {
		rr.IOPmmHg = num(p.Pressure.String())
		if p.CCT != 0 {
			rr.CCTum = intp(int(p.CCT))
		}
	}
	if p := m.Pachymetry; p != nil {
		rr.CCTum = intp(int(p.CCT))
	}
	if p := m.PD; p != nil {
		rr.PDmm = num(p.Value.String())
		rr.Distance = p.Distance.String()
	}
	if va := m.VA; va != nil {
		if va.Decimal > 0 {
			rr.VADecimal = num(strconv.FormatFloat(va.Decimal, 'f', -1, 64))
		}
		rr.VAText = va.Text
		rr.Distance = va.Distance.String()
	}
	return rr
}

func meridian(k lane.KMeridian) (mm, d *json.Number, axis *int) {
	if k.Radius != 0 {
		mm = num(k.Radius.String())
	}
	if k.Power != 0 {
		d = diopters(k.Power)
	}
	if k.Axis != 0 {
		axis = intp(int(k.Axis))
	}
	return mm, d, axis
}

// diopters formats a power as a JSON number with two decimals, or three
// when the value needs them ("-1.50", "0.00", "0.125").
func diopters(d lane.Diopters) *json.Number {
	sign := ""
	if d < 0 {
		sign = "-"
	}
	a := int64(d.Abs())
	if a%10 != 0 {
		return num(fmt.Sprintf("%s%d.%03d", sign, a/1000, a%1000))
	}
	return num(fmt.Sprintf("%s%d.%02d", sign, a/1000, (a%1000)/10))
}

func prism(p lane.PrismDiopters) *json.Number { return num(p.String()) }

func num(s string) *json.Number {
	n := json.Number(s)
	return &n
}

func intp(v int) *int { return &v }

// WriteReport writes r as one line of JSON.
func WriteReport(w io.Writer, r Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
