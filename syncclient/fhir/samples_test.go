package fhir

import (
	"time"

	"github.com/examlane/examlane/lane"
)

// Synthetic records for the round-trip and golden tests. Every name, number
// and id is made up.

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

func samplePatient() lane.Patient {
	return lane.Patient{
		ID: "0b6f3c1e-1111-4a2b-8c3d-000000000001", MRN: "TEST-0001",
		Name:      lane.Name{Family: "Testperson", Given: []string{"Alex", "Q"}, Prefix: "Mx"},
		BirthDate: lane.Date{Year: 1980, Month: 2, Day: 29}, Sex: lane.SexOther,
		Phone: "+1 555 0100", Email: "alex@example.test",
		Address: lane.Address{Lines: []string{"1 Example Way", "Unit 2"}, City: "Sampletown", State: "ST", PostalCode: "00000", Country: "ZZ"},
		Alerts:  []string{"Allergic to test drops", "Prefers large print"}, Note: "Synthetic patient",
	}
}

func sampleAppointment() lane.Appointment {
	return lane.Appointment{
		ID: "0b6f3c1e-2222-4a2b-8c3d-000000000002", PatientID: "pat-1",
		Start: t0, End: t0.Add(30 * time.Minute), Location: "loc-1", Lane: "Lane 2",
		Provider: "dr-1", Reason: "Routine eye exam", Status: lane.ApptReadyForDoctor, With: "tech-1",
	}
}

func sampleEncounter() lane.Encounter {
	return lane.Encounter{
		ID: "0b6f3c1e-3333-4a2b-8c3d-000000000003", PatientID: "pat-1", AppointmentID: "appt-1",
		Status: lane.EncDispensing, Start: t0, Location: "loc-1", Lane: "Lane 2", Clinician: "dr-1",
		ChiefComplaint: "Blurry distance vision", History: "No history", Assessment: "Myopia", Plan: "New glasses",
		SignedBy: "dr-1", SignedAt: t0.Add(time.Hour),
		Addenda: []lane.Addendum{{Author: "dr-1", At: t0.Add(2 * time.Hour), Text: "Corrected add"}},
	}
}

func sampleInstrument() lane.InstrumentRef {
	return lane.InstrumentRef{Vendor: "Nidek", Model: "ARK-1", Serial: "SN-0001", Profile: "nidek-ark1"}
}

func baseMeasurement(id string, k lane.Kind, eye lane.Eye) lane.Measurement {
	return lane.Measurement{
		ID: lane.MeasurementID(id), PatientID: "pat-1", EncounterID: "enc-1", Kind: k, Eye: eye,
		Source: lane.SourceAutorefraction, Instrument: sampleInstrument(),
		DeviceTime: t0.Add(-time.Minute), ReceivedAt: t0, CaptureID: "cap-1", Representative: true,
		RecordedBy: "tech-1",
	}
}

func sampleMeasurements() map[string]lane.Measurement {
	out := map[string]lane.Measurement{}
	m := baseMeasurement("m-ref", lane.KindRefraction, lane.EyeRight)
	m.CylinderSign = lane.MinusCylinder
	m.Confidence = "9"
	m.Refraction = &lane.Refraction{Sphere: -2250, Cylinder: -750, Axis: 175, Add: 2000,
		Prism: lane.Prism{H: 1500, HBase: lane.BaseIn, V: 500, VBase: lane.BaseDown}, Vertex: 1200}
	out["observation-refraction"] = m

	m = baseMeasurement("m-subj", lane.KindRefraction, lane.EyeLeft)
	m.Source, m.Method, m.Instrument = lane.SourceSubjective, "phoropter", lane.InstrumentRef{}
	m.Refraction = &lane.Refraction{Sphere: 125, Cylinder: 0}
	m.Note = "Patient unsure between lines"
	out["observation-subjective"] = m

	m = baseMeasurement("m-lm", lane.KindLensometry, lane.EyeLeft)
	m.Source = lane.SourceLensometry
	m.CylinderSign = lane.PlusCylinder
	m.Refraction = &lane.Refraction{Sphere: -1125, Cylinder: 500, Axis: 90}
	out["observation-lensometry"] = m

	m = baseMeasurement("m-km", lane.KindKeratometry, lane.EyeLeft)
	m.Keratometry = &lane.Keratometry{
		K1: lane.KMeridian{Radius: 785, Power: 43000, Axis: 180},
		K2: lane.KMeridian{Radius: 770, Power: 43830, Axis: 90}, Index: 13375}
	out["observation-keratometry"] = m

	m = baseMeasurement("m-iop", lane.KindIOP, lane.EyeRight)
	m.Method = "3 readings averaged"
	m.IOP = &lane.IOP{Pressure: 155, Method: lane.IOPNonContact, Corrected: 162, CCT: 520}
	out["observation-iop"] = m

	m = baseMeasurement("m-pachy", lane.KindPachymetry, lane.EyeLeft)
	m.Pachymetry = &lane.Pachymetry{CCT: 545}
	out["observation-pachymetry"] = m

	m = baseMeasurement("m-pd", lane.KindPD, lane.EyeBoth)
	m.PD = &lane.PD{Value: 6350, Distance: lane.DistanceFar}
	out["observation-pd"] = m

	m = baseMeasurement("m-va", lane.KindVA, lane.EyeRight)
	m.Source, m.Instrument, m.CaptureID, m.Representative = lane.SourceAided, lane.InstrumentRef{}, "", false
	m.VA = &lane.VisualAcuity{Decimal: 0.8, Text: "20/25-2", Qualifier: lane.VAExact, Letters: -2, Pinhole: true,
		Distance: lane.DistanceFar, Aided: true}
	out["observation-va"] = m

	m = baseMeasurement("m-va-lv", lane.KindVA, lane.EyeLeft)
	m.Source, m.Instrument = lane.SourceUnaided, lane.InstrumentRef{}
	m.VA = &lane.VisualAcuity{Decimal: 0.05, Qualifier: lane.VALessThan, Text: "CF", LowVision: "CF", Distance: lane.DistanceNear}
	out["observation-va-low"] = m

	m = baseMeasurement("m-err", lane.KindError, lane.EyeRight)
	m.Message = "measurement failed: eye closed"
	out["observation-error"] = m
	return out
}

func sampleSpectacleRx() lane.SpectacleRx {
	return lane.SpectacleRx{
		ID: "0b6f3c1e-4444-4a2b-8c3d-000000000004", PatientID: "pat-1", EncounterID: "enc-1",
		Right: lane.Refraction{Sphere: -2250, Cylinder: -500, Axis: 180, Add: 2250, Prism: lane.Prism{H: 1000, HBase: lane.BaseOut}},
		Left:  lane.Refraction{Sphere: -2000, Prism: lane.Prism{V: 500, VBase: lane.BaseUp}, Add: 2250, Vertex: 1200},
		PD:    6300, MonoPDR: 3150, MonoPDL: 3150, NearPD: 6000, Lens: lane.LensProgressive,
		Issued: lane.Date{Year: 2025, Month: 3, Day: 14}, Expires: lane.Date{Year: 2027, Month: 3, Day: 14},
		Prescriber: "dr-1", SignedAt: t0.Add(time.Hour), Note: "Anti-reflective coating",
	}
}

func sampleContactRx() lane.ContactLensRx {
	return lane.ContactLensRx{
		ID: "0b6f3c1e-5555-4a2b-8c3d-000000000005", PatientID: "pat-1", EncounterID: "enc-1",
		Right:  lane.ContactLens{Brand: "Example Daily", BaseCurve: 860, Diameter: 1420, Power: lane.Refraction{Sphere: -2500}},
		Left:   lane.ContactLens{Brand: "Example Toric", BaseCurve: 870, Diameter: 1450, Power: lane.Refraction{Sphere: -2000, Cylinder: -750, Axis: 10}},
		Issued: lane.Date{Year: 2025, Month: 3, Day: 14}, Prescriber: "dr-1",
	}
}

func samplePhoto() lane.Image {
	return lane.Image{
		ID: "0b6f3c1e-6666-4a2b-8c3d-000000000006", PatientID: "pat-1", EncounterID: "enc-1",
		Eye: lane.EyeRight, Kind: lane.ImageColor, CapturedAt: t0, MediaType: "image/jpeg",
		Width: 640, Height: 480, PixelSpacingUM: 6.5, SHA256: [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9},
		Size: 12345, Instrument: lane.InstrumentRef{Vendor: "Example", Model: "Fundus 1", Serial: "F-1"},
	}
}

func sampleDICOM() lane.Image {
	return lane.Image{
		ID: "0b6f3c1e-7777-4a2b-8c3d-000000000007", PatientID: "pat-1", EncounterID: "enc-1",
		Eye: lane.EyeLeft, Kind: lane.ImageRedFree, CapturedAt: t0, MediaType: MediaTypeDICOM,
		Width: 640, Height: 480, Size: 99999, SHA256: [32]byte{9, 9, 9},
		StudyUID: "1.2.826.0.1.3680043.8.498.1", SeriesUID: "1.2.826.0.1.3680043.8.498.2",
		InstanceUID: "1.2.826.0.1.3680043.8.498.3",
	}
}

func sampleAudit() lane.AuditEvent {
	return lane.AuditEvent{
		Seq: 42, ID: "0b6f3c1e-8888-4a2b-8c3d-000000000008", At: t0, User: "dr-1", Role: lane.RoleOptometrist,
		Lane: "Lane 2", PatientID: "pat-1", Action: lane.AuditBreakGlass, Entity: "Encounter/enc-1",
		Outcome: lane.OutcomeSuccess, Reason: "emergency", Detail: "opened chart",
	}
}

// samples returns every sample keyed by its golden file name.
func samples() map[string]any {
	s := map[string]any{
		"patient":         samplePatient(),
		"appointment":     sampleAppointment(),
		"encounter":       sampleEncounter(),
		"spectacle-rx":    sampleSpectacleRx(),
		"contact-lens-rx": sampleContactRx(),
		"photo":           samplePhoto(),
		"dicom-image":     sampleDICOM(),
		"audit-event":     sampleAudit(),
	}
	for k, m := range sampleMeasurements() {
		s[k] = m
	}
	return s
}
