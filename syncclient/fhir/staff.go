package fhir

import (
	"github.com/examlane/examlane/lane"
)

// Device name types (FHIR device-nametype).
const (
	deviceNameModel    = "model-name"
	deviceNameFriendly = "user-friendly-name"
)

// Device maps an instrument: manufacturer, model name, serial number, and
// the lane's device profile name as the user-friendly name.
func (m Mapper) Device(in lane.InstrumentRef) *Device {
	d := &Device{Base: Base{ResourceType: "Device"}, Manufacturer: in.Vendor, SerialNumber: in.Serial}
	if in.Model != "" {
		d.DeviceName = append(d.DeviceName, DeviceName{Name: in.Model, Type: deviceNameModel})
	}
	if in.Profile != "" {
		d.DeviceName = append(d.DeviceName, DeviceName{Name: in.Profile, Type: deviceNameFriendly})
	}
	return d
}

// InstrumentFrom maps a Device back to an instrument reference.
func (m Mapper) InstrumentFrom(d *Device) lane.InstrumentRef {
	in := lane.InstrumentRef{Vendor: d.Manufacturer, Serial: d.SerialNumber, Model: d.ModelNumber}
	for _, n := range d.DeviceName {
		switch n.Type {
		case deviceNameModel:
			in.Model = n.Name
		case deviceNameFriendly:
			in.Profile = n.Name
		}
	}
	return in
}

// LaneDevice is the Device resource standing for a lane PC itself: the
// agent of the lane's Provenance. id is the lane id from enrolment.
func (m Mapper) LaneDevice(id, name string) *Device {
	d := &Device{Base: Base{ResourceType: "Device", ID: id}}
	d.Identifier = []Identifier{{System: "urn:examlane:lane", Value: id}}
	if name != "" {
		d.DeviceName = []DeviceName{{Name: name, Type: deviceNameFriendly}}
	}
	return d
}

// Staff is a staff member as the practice server knows them: a Practitioner
// with one PractitionerRole per lane role.
type Staff struct {
	ID       lane.UserID
	Name     lane.Name
	Roles    []lane.Role
	Location string // the practice location the roles apply at; "" for all
	Active   bool
}

// Practitioner maps a staff member to a Practitioner (id = the user id).
func (m Mapper) Practitioner(s Staff) *Practitioner {
	p := &Practitioner{Base: Base{ResourceType: "Practitioner", ID: string(s.ID)}, Active: boolPtr(s.Active)}
	n := HumanName{Use: "official", Family: s.Name.Family, Given: s.Name.Given}
	if s.Name.Prefix != "" {
		n.Prefix = []string{s.Name.Prefix}
	}
	p.Name = []HumanName{n}
	return p
}

// PractitionerRoles maps a staff member's roles, one PractitionerRole each,
// coded in Examlane's role system.
func (m Mapper) PractitionerRoles(s Staff) []*PractitionerRole {
	var out []*PractitionerRole
	for _, r := range s.Roles {
		pr := &PractitionerRole{Base: Base{ResourceType: "PractitionerRole"}, Active: boolPtr(s.Active)}
		pr.Practitioner = Ref("Practitioner", string(s.ID))
		pr.Code = []CodeableConcept{concept(SystemRole, string(r), string(r))}
		if loc := Ref("Location", s.Location); loc != nil {
			pr.Location = []Reference{*loc}
		}
		out = append(out, pr)
	}
	return out
}

// StaffFrom maps a Practitioner and the PractitionerRoles that point at it;
// roles the lane does not know are ignored.
func (m Mapper) StaffFrom(p *Practitioner, roles []*PractitionerRole) Staff {
	s := Staff{ID: lane.UserID(p.ID), Active: p.Active == nil || *p.Active}
	if n := pickName(p.Name); n != nil {
		s.Name = lane.Name{Family: n.Family, Given: n.Given}
		if len(n.Prefix) > 0 {
			s.Name.Prefix = n.Prefix[0]
		}
	}
	for _, pr := range roles {
		if RefID(pr.Practitioner, "Practitioner") != p.ID || (pr.Active != nil && !*pr.Active) {
			continue
		}
		for _, c := range pr.Code {
			if r, err := lane.ParseRole(codeIn(&c, SystemRole)); err == nil {
				s.Roles = append(s.Roles, r)
			}
		}
		if s.Location == "" && len(pr.Location) > 0 {
			s.Location = RefID(&pr.Location[0], "Location")
		}
	}
	return s
}

// Site is a practice location.
type Site struct {
	ID   string
	Name string
}

// Location maps a practice site.
func (m Mapper) Location(s Site) *Location {
	return &Location{Base: Base{ResourceType: "Location", ID: s.ID}, Status: "active", Name: s.Name}
}

// SiteFrom maps a Location.
func (m Mapper) SiteFrom(l *Location) Site { return Site{ID: l.ID, Name: l.Name} }
