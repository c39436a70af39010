package simulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// JOIAExport is one JOIA XML measurement file as TOPCON instruments write
// them (device notes §4): Common plus any of the REF, KM, TM and LM
// classes. Patient fields are left empty, as on real devices.
type JOIAExport struct {
	Model    string // "KR-800", "CL-300", "CT-800A"
	Serial   string // machine number
	Time     time.Time
	REF      Eyes[lane.Refraction]
	PD       lane.Millimeters
	KM       Eyes[lane.Keratometry]
	TM       Eyes[lane.MmHg]
	LM       Eyes[lane.Refraction]
	VDmm     int // vertex distance for REF, 12 when zero
	Sequence int // the device's running number
}

// FileName is the name TOPCON gives such a file:
// M-Serial<No>_<yyyymmdd>_<hhmmss>_TOPCON_<model>_<serial>.xml.
func (j JOIAExport) FileName() string {
	return fmt.Sprintf("M-Serial%04d_%s_TOPCON_%s_%s.xml", j.Sequence, j.Time.Format("20060102_150405"), j.Model, j.Serial)
}

const joiaNS = "http://www.joia.or.jp/standardized/namespaces/"

// EncodeJOIA writes the export as UTF-8 XML with the nsCommon/nsREF/...
// prefixes TOPCON uses and value padding like " -0.25".
func EncodeJOIA(j JOIAExport) []byte {
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("\t", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	classes := []string{"Common"}
	if j.REF.R != nil || j.REF.L != nil || j.PD != 0 {
		classes = append(classes, "REF")
	}
	if j.KM.R != nil || j.KM.L != nil {
		classes = append(classes, "KM")
	}
	if j.TM.R != nil || j.TM.L != nil {
		classes = append(classes, "TM")
	}
	if j.LM.R != nil || j.LM.L != nil {
		classes = append(classes, "LM")
	}
	w(0, `<?xml version="1.0" encoding="UTF-8" standalone="no" ?>`)
	ns := `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`
	for _, c := range classes {
		ns += fmt.Sprintf(` xmlns:ns%s="%s%s"`, c, joiaNS, c)
	}
	w(0, `<Ophthalmology %s>`, ns)
	w(1, `<nsCommon:Common>`)
	w(2, `<nsCommon:Company>TOPCON</nsCommon:Company>`)
	w(2, `<nsCommon:ModelName>%s</nsCommon:ModelName>`, j.Model)
	w(2, `<nsCommon:MachineNo>%s</nsCommon:MachineNo>`, j.Serial)
	w(2, `<nsCommon:ROMVersion>1.00.00</nsCommon:ROMVersion>`)
	w(2, `<nsCommon:Version>1.2</nsCommon:Version>`)
	w(2, `<nsCommon:Date>%s</nsCommon:Date>`, j.Time.Format("2006-01-02"))
	w(2, `<nsCommon:Time>%s</nsCommon:Time>`, j.Time.Format("15:04:05"))
	w(2, `<nsCommon:Patient>`)
	w(3, `<nsCommon:No.>%04d</nsCommon:No.>`, j.Sequence)
	w(3, `<nsCommon:ID></nsCommon:ID>`)
	for _, f := range []string{"FirstName", "MiddleName", "LastName", "Sex", "Age", "DOB", "NameJ1", "NameJ2"} {
		w(3, `<nsCommon:%s></nsCommon:%s>`, f, f)
	}
	w(2, `</nsCommon:Patient>`)
	w(1, `</nsCommon:Common>`)
	type eyeRF struct {
		eye string
		rf  *lane.Refraction
	}
	if hasClass(classes, "REF") {
		vd := j.VDmm
		if vd == 0 {
			vd = 12
		}
		w(1, `<nsREF:Measure type="REF">`)
		w(2, `<nsREF:VD unit="mm">%d.00</nsREF:VD>`, vd)
		w(2, `<nsREF:DiopterStep unit="D">0.25</nsREF:DiopterStep>`)
		w(2, `<nsREF:AxisStep unit="deg">1</nsREF:AxisStep>`)
		w(2, `<nsREF:CylinderMode>-</nsREF:CylinderMode>`)
		w(2, `<nsREF:REF>`)
		for _, e := range []eyeRF{{"R", j.REF.R}, {"L", j.REF.L}} {
			if e.rf == nil {
				continue
			}
			w(3, `<nsREF:%s>`, e.eye)
			w(4, `<nsREF:Median>`)
			w(5, `<nsREF:Sphere unit="D">%s</nsREF:Sphere>`, joiaPower(e.rf.Sphere))
			w(5, `<nsREF:Cylinder unit="D">%s</nsREF:Cylinder>`, joiaPower(e.rf.Cylinder))
			w(5, `<nsREF:Axis unit="deg">%3d</nsREF:Axis>`, joiaAxis(*e.rf))
			w(4, `</nsREF:Median>`)
			w(3, `</nsREF:%s>`, e.eye)
		}
		w(2, `</nsREF:REF>`)
		if j.PD != 0 {
			w(2, `<nsREF:PD>`)
			w(3, `<nsREF:Distance unit="mm">%s</nsREF:Distance>`, j.PD.String())
			w(2, `</nsREF:PD>`)
		}
		w(1, `</nsREF:Measure>`)
	}
	if hasClass(classes, "KM") {
		w(1, `<nsKM:Measure type="KM">`)
		w(2, `<nsKM:DiopterStep unit="D">0.25</nsKM:DiopterStep>`)
		w(2, `<nsKM:AxisStep unit="deg">1</nsKM:AxisStep>`)
		w(2, `<nsKM:CylinderMode>-</nsKM:CylinderMode>`)
		w(2, `<nsKM:RefractiveIndex>1.3375</nsKM:RefractiveIndex>`)
		w(2, `<nsKM:KM>`)
		for _, e := range []struct {
			eye string
			k   *lane.Keratometry
		}{{"R", j.KM.R}, {"L", j.KM.L}} {
			if e.k == nil {
				continue
			}
			w(3, `<nsKM:%s>`, e.eye)
			w(4, `<nsKM:Median>`)
			for i, m := range []lane.KMeridian{e.k.K1, e.k.K2} {
				w(5, `<nsKM:R%d>`, i+1)
				w(6, `<nsKM:Radius unit="mm">%s</nsKM:Radius>`, mm2(m.Radius))
				w(6, `<nsKM:Power unit="D">%s</nsKM:Power>`, hundredths(int64(m.Power)/10))
				w(6, `<nsKM:Axis unit="deg">%d</nsKM:Axis>`, m.Axis)
				w(5, `</nsKM:R%d>`, i+1)
			}
			w(4, `</nsKM:Median>`)
			w(3, `</nsKM:%s>`, e.eye)
		}
		w(2, `</nsKM:KM>`)
		w(1, `</nsKM:Measure>`)
	}
	if hasClass(classes, "TM") {
		w(1, `<nsTM:Measure type="TM">`)
		w(2, `<nsTM:TM>`)
		for _, e := range []struct {
			eye string
			v   *lane.MmHg
		}{{"R", j.TM.R}, {"L", j.TM.L}} {
			if e.v == nil {
				continue
			}
			w(3, `<nsTM:%s>`, e.eye)
			w(4, `<nsTM:List No="1">`)
			w(5, `<nsTM:IOP_mmHg unit="mmHg">%s</nsTM:IOP_mmHg>`, e.v.String())
			w(4, `</nsTM:List>`)
			w(4, `<nsTM:Average>`)
			w(5, `<nsTM:IOP_mmHg unit="mmHg">%s</nsTM:IOP_mmHg>`, e.v.String())
			w(4, `</nsTM:Average>`)
			w(3, `</nsTM:%s>`, e.eye)
		}
		w(2, `</nsTM:TM>`)
		w(1, `</nsTM:Measure>`)
	}
	if hasClass(classes, "LM") {
		w(1, `<nsLM:Measure type="LM">`)
		w(2, `<nsLM:DiopterStep unit="D">0.25</nsLM:DiopterStep>`)
		w(2, `<nsLM:AxisStep unit="deg">1</nsLM:AxisStep>`)
		w(2, `<nsLM:PrismStep unit="D">0.25</nsLM:PrismStep>`)
		w(2, `<nsLM:CylinderMode>-</nsLM:CylinderMode>`)
		w(2, `<nsLM:LM>`)
		for _, e := range []eyeRF{{"R", j.LM.R}, {"L", j.LM.L}} {
			if e.rf == nil {
				continue
			}
			w(3, `<nsLM:%s>`, e.eye)
			w(4, `<nsLM:Sphere unit="D">%s</nsLM:Sphere>`, joiaPower(e.rf.Sphere))
			w(4, `<nsLM:Cylinder unit="D">%s</nsLM:Cylinder>`, joiaPower(e.rf.Cylinder))
			w(4, `<nsLM:Axis unit="deg">%3d</nsLM:Axis>`, joiaAxis(*e.rf))
			add := ""
			if e.rf.Add != 0 {
				add = joiaPower(e.rf.Add)
			}
			w(4, `<nsLM:Add1 unit="D">%s</nsLM:Add1>`, add)
			w(4, `<nsLM:Add2 unit="D"></nsLM:Add2>`)
			w(3, `</nsLM:%s>`, e.eye)
		}
		w(2, `</nsLM:LM>`)
		w(1, `</nsLM:Measure>`)
	}
	w(0, `</Ophthalmology>`)
	return []byte(b.String())
}

func hasClass(cs []string, c string) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// joiaPower formats " +3.75" / " -0.25" / " +0.00" as TOPCON pads them.
func joiaPower(d lane.Diopters) string {
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	return " " + sign + hundredths(int64(d.Abs())/10)
}

func joiaAxis(rf lane.Refraction) int {
	if rf.Cylinder == 0 {
		return 0
	}
	return int(rf.Axis)
}
