package fhir

import (
	"encoding/json"

	"github.com/examlane/examlane/lane"
)

// VisionPrescription product codes.
const (
	productLens    = "lens"
	productContact = "contact"
)

func productConcept(code string) CodeableConcept {
	return concept(SystemVisionProduct, code, code)
}

// lensSpec writes one eye's sphero-cylinder, prism and add.
func lensSpec(product, eye string, r lane.Refraction) (LensSpecification, error) {
	ls := LensSpecification{Product: productConcept(product), Eye: eye}
	if (r.Prism.H != 0 && r.Prism.HBase == lane.BaseNoneH) || (r.Prism.V != 0 && r.Prism.VBase == lane.BaseNoneV) {
		return ls, invalidf("%s lens: prism without a base direction", eye)
	}
	ls.Sphere = dioptersNum(r.Sphere)
	if r.Cylinder != 0 || r.Axis != 0 {
		ls.Cylinder = dioptersNum(r.Cylinder)
		ls.Axis = intPtr(int64(r.Axis))
	}
	if r.Prism.H != 0 || r.Prism.HBase != lane.BaseNoneH {
		ls.Prism = append(ls.Prism, Prism{Amount: prismNum(r.Prism.H), Base: hBaseCode(r.Prism.HBase)})
	}
	if r.Prism.V != 0 || r.Prism.VBase != lane.BaseNoneV {
		ls.Prism = append(ls.Prism, Prism{Amount: prismNum(r.Prism.V), Base: vBaseCode(r.Prism.VBase)})
	}
	if r.Add != 0 {
		ls.Add = dioptersNum(r.Add)
	}
	if r.Vertex != 0 {
		ls.Extension = []Extension{{URL: ExtVertex, ValueQuantity: quantity(mmNum(r.Vertex), UnitMillimeter)}}
	}
	return ls, nil
}

func rxBase(id lane.PrescriptionID, patient lane.PatientID, enc lane.EncounterID, issued lane.Date, prescriber lane.UserID, signedAt timeT, updated timeT) *VisionPrescription {
	r := &VisionPrescription{Base: Base{ResourceType: "VisionPrescription"}}
	r.Identifier = []Identifier{laneIdentifier(string(id))}
	r.Status = "draft"
	if !signedAt.IsZero() {
		r.Status = "active"
	}
	r.Created = instant(signedAt)
	if r.Created == "" {
		r.Created = instant(updated)
	}
	if r.Created == "" {
		r.Created = dateString(issued)
	}
	if p := Ref("Patient", string(patient)); p != nil {
		r.Patient = *p
	}
	r.Encounter = Ref("Encounter", string(enc))
	r.DateWritten = dateString(issued)
	r.Prescriber = Ref("Practitioner", string(prescriber))
	return r
}

// SpectacleRx maps a spectacle prescription: one lens specification per eye
// (product lens) with sphere, cylinder, axis, prism and add; a signed Rx is
// active and a draft is draft. PDs, lens type, expiry and the signing time
// travel as Examlane extensions.
func (m Mapper) SpectacleRx(rx lane.SpectacleRx) (*VisionPrescription, error) {
	r := rxBase(rx.ID, rx.PatientID, rx.EncounterID, rx.Issued, rx.Prescriber, rx.SignedAt, rx.Updated)
	right, err := lensSpec(productLens, "right", rx.Right)
	if err != nil {
		return nil, err
	}
	left, err := lensSpec(productLens, "left", rx.Left)
	if err != nil {
		return nil, err
	}
	r.LensSpecification = []LensSpecification{right, left}
	var x []Extension
	for _, pd := range []struct {
		url string
		v   lane.Millimeters
	}{{ExtPD, rx.PD}, {ExtMonoPDRight, rx.MonoPDR}, {ExtMonoPDLeft, rx.MonoPDL}, {ExtNearPD, rx.NearPD}} {
		if pd.v != 0 {
			x = append(x, Extension{URL: pd.url, ValueQuantity: quantity(mmNum(pd.v), UnitMillimeter)})
		}
	}
	x = append(x, codeExt(ExtLensType, string(rx.Lens))...)
	x = append(x, rxCommonExt(rx.Expires, rx.SignedAt, rx.Note)...)
	r.Extension = x
	return r, nil
}

func rxCommonExt(expires lane.Date, signedAt timeT, note string) []Extension {
	var x []Extension
	if !expires.IsZero() {
		x = append(x, Extension{URL: ExtExpires, ValueDate: dateString(expires)})
	}
	if !signedAt.IsZero() {
		x = append(x, Extension{URL: ExtSignedAt, ValueDateTime: instant(signedAt)})
	}
	return append(x, strExt(ExtNote, note)...)
}

// ContactLensRx maps a contact lens prescription: product contact, with
// back curve, diameter and brand per eye.
func (m Mapper) ContactLensRx(rx lane.ContactLensRx) (*VisionPrescription, error) {
	r := rxBase(rx.ID, rx.PatientID, rx.EncounterID, rx.Issued, rx.Prescriber, rx.SignedAt, rx.Updated)
	for _, e := range []struct {
		eye string
		cl  lane.ContactLens
	}{{"right", rx.Right}, {"left", rx.Left}} {
		ls, err := lensSpec(productContact, e.eye, e.cl.Power)
		if err != nil {
			return nil, err
		}
		if e.cl.BaseCurve != 0 {
			ls.BackCurve = mmNum(e.cl.BaseCurve)
		}
		if e.cl.Diameter != 0 {
			ls.Diameter = mmNum(e.cl.Diameter)
		}
		ls.Brand = e.cl.Brand
		r.LensSpecification = append(r.LensSpecification, ls)
	}
	r.Extension = rxCommonExt(rx.Expires, rx.SignedAt, rx.Note)
	return r, nil
}

// PrescriptionFrom maps a VisionPrescription to a lane.SpectacleRx, or to a
// lane.ContactLensRx when every lens specification is a contact lens.
func (m Mapper) PrescriptionFrom(r *VisionPrescription) (any, error) {
	contact := len(r.LensSpecification) > 0
	for _, ls := range r.LensSpecification {
		if !hasCode(&ls.Product, SystemVisionProduct, productContact) {
			contact = false
		}
	}
	var (
		right, left       lane.Refraction
		rightCL, leftCL   lane.ContactLens
		haveRight, haveLf bool
	)
	for _, ls := range r.LensSpecification {
		ref, err := readLens(ls)
		if err != nil {
			return nil, err
		}
		cl := lane.ContactLens{Brand: ls.Brand, Power: ref}
		if ls.BackCurve != "" {
			if cl.BaseCurve, err = millimeters(ls.BackCurve); err != nil {
				return nil, err
			}
		}
		if ls.Diameter != "" {
			if cl.Diameter, err = millimeters(ls.Diameter); err != nil {
				return nil, err
			}
		}
		switch ls.Eye {
		case "right":
			if haveRight {
				continue // the lane keeps one lens per eye: the first
			}
			right, rightCL, haveRight = ref, cl, true
		case "left":
			if haveLf {
				continue
			}
			left, leftCL, haveLf = ref, cl, true
		default:
			return nil, invalidf("lens specification eye %q", ls.Eye)
		}
	}
	id := lane.PrescriptionID(recordID(r))
	patient := lane.PatientID(RefID(&r.Patient, "Patient"))
	enc := lane.EncounterID(RefID(r.Encounter, "Encounter"))
	issued, err := parseDate(r.DateWritten)
	if err != nil {
		return nil, err
	}
	prescriber := lane.UserID(RefID(r.Prescriber, "Practitioner"))
	var expires lane.Date
	if e := getExt(r.Extension, ExtExpires); e != nil {
		if expires, err = parseDate(e.ValueDate); err != nil {
			return nil, err
		}
	}
	var signedAt timeT
	if e := getExt(r.Extension, ExtSignedAt); e != nil {
		if signedAt, err = ParseTime(e.ValueDateTime); err != nil {
			return nil, err
		}
	}
	if signedAt.IsZero() && r.Status == "active" {
		// a prescription signed elsewhere: its creation is the best time we have
		if signedAt, err = ParseTime(r.Created); err != nil {
			return nil, err
		}
	}
	note := extStr(r.Extension, ExtNote)
	upd, err := updated(r)
	if err != nil {
		return nil, err
	}
	deleted := r.Status == "entered-in-error" || r.Status == "cancelled"
	if contact {
		return lane.ContactLensRx{
			ID: id, PatientID: patient, EncounterID: enc, Right: rightCL, Left: leftCL,
			Issued: issued, Expires: expires, Prescriber: prescriber, SignedAt: signedAt, Note: note,
			Updated: upd, Deleted: deleted,
		}, nil
	}
	rx := lane.SpectacleRx{
		ID: id, PatientID: patient, EncounterID: enc, Right: right, Left: left,
		Lens: lane.LensType(extStr(r.Extension, ExtLensType)), Issued: issued, Expires: expires,
		Prescriber: prescriber, SignedAt: signedAt, Note: note, Updated: upd, Deleted: deleted,
	}
	for _, pd := range []struct {
		url string
		dst *lane.Millimeters
	}{{ExtPD, &rx.PD}, {ExtMonoPDRight, &rx.MonoPDR}, {ExtMonoPDLeft, &rx.MonoPDL}, {ExtNearPD, &rx.NearPD}} {
		if e := getExt(r.Extension, pd.url); e != nil && e.ValueQuantity != nil {
			if *pd.dst, err = millimeters(e.ValueQuantity.Value); err != nil {
				return nil, err
			}
		}
	}
	return rx, nil
}

func readLens(ls LensSpecification) (lane.Refraction, error) {
	var r lane.Refraction
	var err error
	num := func(n json.Number, dst *lane.Diopters) error {
		if n == "" {
			return nil
		}
		v, err := diopters(n)
		*dst = v
		return err
	}
	if err = num(ls.Sphere, &r.Sphere); err != nil {
		return r, err
	}
	if ls.Sphere == "" && ls.Power != "" { // contact lenses may state power only
		if err = num(ls.Power, &r.Sphere); err != nil {
			return r, err
		}
	}
	if err = num(ls.Cylinder, &r.Cylinder); err != nil {
		return r, err
	}
	if err = num(ls.Add, &r.Add); err != nil {
		return r, err
	}
	if ls.Axis != nil {
		if r.Axis, err = axisOf(*ls.Axis); err != nil {
			return r, err
		}
		if r.Axis == 0 && r.Cylinder != 0 {
			r.Axis = 180
		}
	}
	for _, p := range ls.Prism {
		amt, err := prismDiopters(p.Amount)
		if err != nil {
			return r, err
		}
		switch p.Base {
		case "in", "out":
			if r.Prism.HBase != lane.BaseNoneH {
				return r, invalidf("two horizontal prisms")
			}
			r.Prism.H = amt
			r.Prism.HBase, _ = hBaseFrom(p.Base)
		case "up", "down":
			if r.Prism.VBase != lane.BaseNoneV {
				return r, invalidf("two vertical prisms")
			}
			r.Prism.V = amt
			r.Prism.VBase, _ = vBaseFrom(p.Base)
		default:
			return r, invalidf("prism base %q", p.Base)
		}
	}
	if e := getExt(ls.Extension, ExtVertex); e != nil && e.ValueQuantity != nil {
		if r.Vertex, err = millimeters(e.ValueQuantity.Value); err != nil {
			return r, err
		}
	}
	return r, nil
}
