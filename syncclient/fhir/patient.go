package fhir

import (
	"github.com/examlane/examlane/lane"
)

// Patient maps a lane patient: MRN as an identifier in the practice's system
// (type MR), the lane id as urn:examlane:id, name, birth date, gender,
// telecom and address; alerts and the note travel as Examlane extensions.
func (m Mapper) Patient(p lane.Patient) *Patient {
	r := &Patient{Base: Base{ResourceType: "Patient"}}
	if p.MRN != "" {
		r.Identifier = append(r.Identifier, Identifier{
			Use:    "usual",
			Type:   &CodeableConcept{Coding: []Coding{{System: SystemIdentifierType, Code: "MR", Display: "Medical record number"}}},
			System: m.mrnSystem(), Value: p.MRN,
		})
	}
	r.Identifier = append(r.Identifier, laneIdentifier(string(p.ID)))
	n := HumanName{Use: "official", Family: p.Name.Family, Given: p.Name.Given}
	if p.Name.Prefix != "" {
		n.Prefix = []string{p.Name.Prefix}
	}
	if n.Family != "" || len(n.Given) > 0 || len(n.Prefix) > 0 {
		r.Name = []HumanName{n}
	}
	if p.Phone != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "phone", Value: p.Phone})
	}
	if p.Email != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "email", Value: p.Email})
	}
	r.Gender = string(p.Sex)
	r.BirthDate = dateString(p.BirthDate)
	a := p.Address
	if len(a.Lines) > 0 || a.City != "" || a.State != "" || a.PostalCode != "" || a.Country != "" {
		r.Address = []Address{{Line: a.Lines, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}}
	}
	for _, al := range p.Alerts {
		r.Extension = append(r.Extension, Extension{URL: ExtAlert, ValueString: al})
	}
	r.Extension = append(r.Extension, strExt(ExtNote, p.Note)...)
	return r
}

// PatientFrom maps a FHIR Patient. The MRN is the identifier in the
// practice's system, else the first identifier typed MR.
func (m Mapper) PatientFrom(r *Patient) (lane.Patient, error) {
	p := lane.Patient{ID: lane.PatientID(recordID(r))}
	p.MRN = identifierValue(r.Identifier, m.mrnSystem())
	if p.MRN == "" {
		for _, id := range r.Identifier {
			if hasCode(id.Type, SystemIdentifierType, "MR") {
				p.MRN = id.Value
				break
			}
		}
	}
	if n := pickName(r.Name); n != nil {
		p.Name.Family = n.Family
		p.Name.Given = n.Given
		if len(n.Prefix) > 0 {
			p.Name.Prefix = n.Prefix[0]
		}
	}
	for _, t := range r.Telecom {
		switch {
		case t.System == "phone" && p.Phone == "":
			p.Phone = t.Value
		case t.System == "email" && p.Email == "":
			p.Email = t.Value
		}
	}
	switch lane.Sex(r.Gender) {
	case lane.SexFemale, lane.SexMale, lane.SexOther, lane.SexUnknown, "":
		p.Sex = lane.Sex(r.Gender)
	default:
		return lane.Patient{}, invalidf("patient gender is not a FHIR administrative gender")
	}
	var err error
	if p.BirthDate, err = parseDate(r.BirthDate); err != nil {
		return lane.Patient{}, err
	}
	if len(r.Address) > 0 {
		a := r.Address[0]
		p.Address = lane.Address{Lines: a.Line, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	for _, e := range r.Extension {
		if e.URL == ExtAlert && e.ValueString != "" {
			p.Alerts = append(p.Alerts, e.ValueString)
		}
	}
	p.Note = extStr(r.Extension, ExtNote)
	if p.Updated, err = updated(r); err != nil {
		return lane.Patient{}, err
	}
	return p, nil
}

// pickName returns the official name, else the usual one, else the first.
func pickName(names []HumanName) *HumanName {
	for _, use := range []string{"official", "usual"} {
		for i := range names {
			if names[i].Use == use {
				return &names[i]
			}
		}
	}
	if len(names) > 0 {
		return &names[0]
	}
	return nil
}

// updated returns meta.lastUpdated as a time.
func updated(res Resource) (t timeT, err error) {
	_, lu := Version(res)
	return ParseTime(lu)
}
