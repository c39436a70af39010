package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/examlane/examlane/lane"
)

// ErrUnsupported reports a resource the lane does not map to a record (an
// Observation of something other than an eye measurement, a resource type
// the lane does not keep). Callers skip such resources.
var ErrUnsupported = errors.New("fhir: resource not mapped to a lane record")

// invalidf returns an error wrapping lane.ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("fhir: %s: %w", fmt.Sprintf(format, args...), lane.ErrInvalid)
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// fixed formats v, an integer count of 10^-scale units, as a decimal with at
// least minFrac fraction digits: fixed(-2250, 3, 2) = "-2.25".
func fixed(v int64, scale, minFrac int) json.Number {
	neg := v < 0
	if neg {
		v = -v
	}
	ip, fp := v/pow10[scale], v%pow10[scale]
	frac := fmt.Sprintf("%0*d", scale, fp)
	for len(frac) > minFrac && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := fmt.Sprint(ip)
	if frac != "" {
		s += "." + frac
	}
	if neg && v != 0 {
		s = "-" + s
	}
	return json.Number(s)
}

// parseFixed parses a JSON decimal into an integer count of 10^-scale units,
// rounding half away from zero. It rejects values whose magnitude exceeds
// 2^31-1 units.
func parseFixed(n json.Number, scale int) (int64, error) {
	// Bound the work before big.Rat sees it: a huge exponent would make it
	// compute an enormous power of ten.
	s := string(n)
	if len(s) > 40 {
		return 0, invalidf("decimal too long")
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > 20 || exp < -20 {
			return 0, invalidf("malformed decimal")
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(string(n), "/ ") {
		return 0, invalidf("malformed decimal")
	}
	r.Mul(r, new(big.Rat).SetInt64(pow10[scale]))
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	// round half away from zero: (2·num + den) / (2·den)
	num.Mul(num, big.NewInt(2)).Add(num, den)
	q := num.Quo(num, new(big.Int).Mul(den, big.NewInt(2)))
	if !q.IsInt64() || q.Int64() > 1<<31-1 {
		return 0, invalidf("decimal out of range")
	}
	v := q.Int64()
	if neg {
		v = -v
	}
	return v, nil
}

// diopters, mm, prism, mmHg parse quantities into lane units with the lane's
// own range checks.
func diopters(n json.Number) (lane.Diopters, error) { return dioptersWithin(n, lane.MaxPower) }

// maxKPower bounds corneal powers, which lie well above spectacle powers.
const maxKPower = 100 * lane.Diopter

func dioptersWithin(n json.Number, limit lane.Diopters) (lane.Diopters, error) {
	v, err := parseFixed(n, 3)
	if err != nil {
		return 0, err
	}
	if v > int64(limit) || v < -int64(limit) {
		return 0, invalidf("power out of range")
	}
	return lane.Diopters(v), nil
}

func millimeters(n json.Number) (lane.Millimeters, error) {
	v, err := parseFixed(n, 2)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 100000 {
		return 0, invalidf("length out of range")
	}
	return lane.Millimeters(v), nil
}

func prismDiopters(n json.Number) (lane.PrismDiopters, error) {
	v, err := parseFixed(n, 3)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 30000 {
		return 0, invalidf("prism out of range")
	}
	return lane.PrismDiopters(v), nil
}

func mmHg(n json.Number) (lane.MmHg, error) {
	v, err := parseFixed(n, 1)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 900 {
		return 0, invalidf("pressure out of range")
	}
	return lane.MmHg(v), nil
}

func axisOf(v int64) (lane.Axis, error) {
	if v < 0 || v > 180 {
		return 0, invalidf("axis out of range (0..180)")
	}
	return lane.Axis(v), nil
}

func dioptersNum(d lane.Diopters) json.Number   { return fixed(int64(d), 3, 2) }
func mmNum(m lane.Millimeters) json.Number      { return fixed(int64(m), 2, 1) }
func prismNum(p lane.PrismDiopters) json.Number { return fixed(int64(p), 3, 2) }
func mmHgNum(p lane.MmHg) json.Number           { return fixed(int64(p), 1, 0) }
func intNum(v int64) json.Number                { return fixed(v, 0, 0) }
func quantity(v json.Number, unit string) *Quantity {
	return &Quantity{Value: v, Unit: unit, System: SystemUCUM, Code: unit}
}

// instant formats t as a FHIR instant in UTC, or "" for the zero time.
func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTime parses a FHIR instant or dateTime (including the partial forms
// YYYY, YYYY-MM and YYYY-MM-DD, read as midnight UTC). "" gives the zero
// time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalidf("malformed date-time")
}

// dateString formats a lane.Date as a FHIR date.
func dateString(d lane.Date) string { return d.String() }

// parseDate parses a FHIR date; partial dates are rejected because the lane
// keeps full dates only.
func parseDate(s string) (lane.Date, error) {
	if s == "" {
		return lane.Date{}, nil
	}
	if len(s) > 10 { // a dateTime where a date is expected
		t, err := ParseTime(s)
		if err != nil {
			return lane.Date{}, err
		}
		return lane.DateOf(t), nil
	}
	d, err := lane.ParseDate(s)
	if err != nil {
		return lane.Date{}, invalidf("malformed date (want YYYY-MM-DD)")
	}
	return d, nil
}

// laneIdentifier is the identifier carrying a lane uuid.
func laneIdentifier(id string) Identifier {
	return Identifier{System: SystemLaneID, Value: id}
}

// identifierValue returns the value of the first identifier with system.
func identifierValue(ids []Identifier, system string) string {
	for _, id := range ids {
		if id.System == system {
			return id.Value
		}
	}
	return ""
}

// LaneID returns the lane uuid a resource carries (identifier or meta.tag
// with system urn:examlane:id), or "".
func LaneID(res Resource) string {
	if b := res.base(); b.Meta != nil {
		for _, t := range b.Meta.Tag {
			if t.System == SystemLaneID {
				return t.Code
			}
		}
	}
	switch r := res.(type) {
	case *Patient:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Appointment:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Encounter:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Observation:
		return identifierValue(r.Identifier, SystemLaneID)
	case *VisionPrescription:
		return identifierValue(r.Identifier, SystemLaneID)
	case *DocumentReference:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Media:
		return identifierValue(r.Identifier, SystemLaneID)
	case *ImagingStudy:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Practitioner:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Location:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Device:
		return identifierValue(r.Identifier, SystemLaneID)
	case *Basic:
		return identifierValue(r.Identifier, SystemLaneID)
	}
	return ""
}

// recordID is the lane id of a pulled resource before the engine maps it:
// the lane uuid when the resource carries one, else the server id.
func recordID(res Resource) string {
	if id := LaneID(res); id != "" {
		return id
	}
	return res.base().ID
}

// Ref builds a reference "Type/id", nil when id is empty. An id that is
// already a "urn:uuid:" reference (another entry of the same transaction
// Bundle, which the server rewrites to the id it assigns) is used as is.
func Ref(typ, id string) *Reference {
	if id == "" {
		return nil
	}
	if strings.HasPrefix(id, "urn:uuid:") {
		return &Reference{Reference: id}
	}
	return &Reference{Reference: typ + "/" + id}
}

// RefID returns the id a reference points at when it points at a resource of
// type typ: it accepts "Type/id", "Type/id/_history/v", absolute URLs ending
// so, and "urn:uuid:x" (returning x, for transaction bundles). It returns ""
// otherwise.
func RefID(r *Reference, typ string) string {
	if r == nil || r.Reference == "" {
		return ""
	}
	s := r.Reference
	if rest, ok := strings.CutPrefix(s, "urn:uuid:"); ok {
		return rest
	}
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[len(parts)-2] != typ {
		return ""
	}
	return parts[len(parts)-1]
}

// ext helpers.

func getExt(exts []Extension, url string) *Extension {
	for i := range exts {
		if exts[i].URL == url {
			return &exts[i]
		}
	}
	return nil
}

func extStr(exts []Extension, url string) string {
	if e := getExt(exts, url); e != nil {
		if e.ValueString != "" {
			return e.ValueString
		}
		return e.ValueCode
	}
	return ""
}

func strExt(url, v string) []Extension {
	if v == "" {
		return nil
	}
	return []Extension{{URL: url, ValueString: v}}
}

func codeExt(url, v string) []Extension {
	if v == "" {
		return nil
	}
	return []Extension{{URL: url, ValueCode: v}}
}

func boolPtr(b bool) *bool  { return &b }
func intPtr(v int64) *int64 { return &v }
func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
func isTrue(p *bool) bool { return p != nil && *p }

// SetExtension returns exts with the extension of e.URL replaced by e (or
// added), leaving every other extension as it was.
func SetExtension(exts []Extension, e Extension) []Extension {
	out := make([]Extension, 0, len(exts)+1)
	done := false
	for _, x := range exts {
		if x.URL == e.URL {
			if !done {
				out = append(out, e)
				done = true
			}
			continue
		}
		out = append(out, x)
	}
	if !done {
		out = append(out, e)
	}
	return out
}

// ExtensionString returns the string or code value of the extension url on
// res, or "".
func ExtensionString(res Resource, url string) string {
	return extStr(res.base().Extension, url)
}

// SetChangeID records the idempotency key of the change being written on res.
func SetChangeID(res Resource, key string) {
	b := res.base()
	b.Extension = SetExtension(b.Extension, Extension{URL: ExtChangeID, ValueString: key})
}

// eye concepts (verified SNOMED codes).

func eyeConcept(e lane.Eye) *CodeableConcept {
	var code, display string
	switch e {
	case lane.EyeRight:
		code, display = SNOMEDRightEye, "Entire right eye"
	case lane.EyeLeft:
		code, display = SNOMEDLeftEye, "Entire left eye"
	case lane.EyeBoth:
		code, display = SNOMEDBothEyes, "Both eyes, entire"
	default:
		return nil
	}
	return &CodeableConcept{Coding: []Coding{{System: SystemSNOMED, Code: code, Display: display}}}
}

func eyeCoding(e lane.Eye) *Coding {
	if cc := eyeConcept(e); cc != nil {
		return &cc.Coding[0]
	}
	return nil
}

func eyeFromCoding(c Coding) lane.Eye {
	if c.System != SystemSNOMED {
		return lane.EyeUnknown
	}
	switch c.Code {
	case SNOMEDRightEye:
		return lane.EyeRight
	case SNOMEDLeftEye:
		return lane.EyeLeft
	case SNOMEDBothEyes:
		return lane.EyeBoth
	}
	return lane.EyeUnknown
}

func eyeFrom(cc *CodeableConcept) lane.Eye {
	if cc == nil {
		return lane.EyeUnknown
	}
	for _, c := range cc.Coding {
		if e := eyeFromCoding(c); e != lane.EyeUnknown {
			return e
		}
	}
	return lane.EyeUnknown
}

// hasCode reports whether cc has a coding system|code.
func hasCode(cc *CodeableConcept, system, code string) bool {
	if cc == nil {
		return false
	}
	for _, c := range cc.Coding {
		if c.System == system && c.Code == code {
			return true
		}
	}
	return false
}

// codeIn returns the first code of cc in system, or "".
func codeIn(cc *CodeableConcept, system string) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.System == system {
			return c.Code
		}
	}
	return ""
}

func concept(system, code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

// timeT shortens signatures.
type timeT = time.Time

// MarkDeleted adds the Examlane deleted marker to res: how the lane's side of
// a conflict over a deletion is shown.
func MarkDeleted(res Resource) {
	b := res.base()
	b.Extension = SetExtension(b.Extension, Extension{URL: ExtDeleted, ValueBoolean: boolPtr(true)})
}
