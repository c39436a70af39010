package fhir

import "encoding/json"

// The structs in this file are a minimal, hand-written model of exactly the
// FHIR R4 elements Examlane reads or writes. Elements not modelled here are
// not lost when the lane writes back a resource it pulled: see Patch.

// Meta is a resource's metadata.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

// Base holds the elements every resource the lane uses shares. Extension is
// absent on Binary and Bundle, which never set it.
type Base struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id,omitempty"`
	Meta         *Meta       `json:"meta,omitempty"`
	Extension    []Extension `json:"extension,omitempty"`
}

// Resource is any resource struct of this package.
type Resource interface {
	// base returns the shared elements for the engine and helpers.
	base() *Base
}

func (b *Base) base() *Base { return b }

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a set of codings with a text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// Reference points at another resource.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Period is a time range; either end may be open.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a measured amount with its UCUM unit. Value keeps the decimal
// exactly as written.
type Quantity struct {
	Value      json.Number `json:"value,omitempty"`
	Comparator string      `json:"comparator,omitempty"`
	Unit       string      `json:"unit,omitempty"`
	System     string      `json:"system,omitempty"`
	Code       string      `json:"code,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
}

// ContactPoint is a phone number or e-mail address.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// Attachment is content by value or by reference.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	URL         string `json:"url,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Hash        []byte `json:"hash,omitempty"` // SHA-1, base64 on the wire
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// Extension is a FHIR extension with the value types the lane uses.
type Extension struct {
	URL            string      `json:"url"`
	ValueString    string      `json:"valueString,omitempty"`
	ValueCode      string      `json:"valueCode,omitempty"`
	ValueBoolean   *bool       `json:"valueBoolean,omitempty"`
	ValueInteger   *int64      `json:"valueInteger,omitempty"`
	ValueDecimal   json.Number `json:"valueDecimal,omitempty"`
	ValueDateTime  string      `json:"valueDateTime,omitempty"`
	ValueDate      string      `json:"valueDate,omitempty"`
	ValueReference *Reference  `json:"valueReference,omitempty"`
	ValueCoding    *Coding     `json:"valueCoding,omitempty"`
	ValueQuantity  *Quantity   `json:"valueQuantity,omitempty"`
	Extension      []Extension `json:"extension,omitempty"`
}

// Patient is a FHIR Patient.
type Patient struct {
	Base
	Identifier []Identifier   `json:"identifier,omitempty"`
	Active     *bool          `json:"active,omitempty"`
	Name       []HumanName    `json:"name,omitempty"`
	Telecom    []ContactPoint `json:"telecom,omitempty"`
	Gender     string         `json:"gender,omitempty"`
	BirthDate  string         `json:"birthDate,omitempty"`
	Address    []Address      `json:"address,omitempty"`
}

// AppointmentParticipant is one actor of an appointment.
type AppointmentParticipant struct {
	Type   []CodeableConcept `json:"type,omitempty"`
	Actor  *Reference        `json:"actor,omitempty"`
	Status string            `json:"status"`
}

// Appointment is a FHIR Appointment.
type Appointment struct {
	Base
	Identifier  []Identifier             `json:"identifier,omitempty"`
	Status      string                   `json:"status"`
	ReasonCode  []CodeableConcept        `json:"reasonCode,omitempty"`
	Description string                   `json:"description,omitempty"`
	Start       string                   `json:"start,omitempty"`
	End         string                   `json:"end,omitempty"`
	Participant []AppointmentParticipant `json:"participant"`
}

// EncounterParticipant is a practitioner taking part in an encounter.
type EncounterParticipant struct {
	Type       []CodeableConcept `json:"type,omitempty"`
	Individual *Reference        `json:"individual,omitempty"`
}

// EncounterLocation is a place an encounter happened.
type EncounterLocation struct {
	Location Reference `json:"location"`
}

// Encounter is a FHIR Encounter.
type Encounter struct {
	Base
	Identifier  []Identifier           `json:"identifier,omitempty"`
	Status      string                 `json:"status"`
	Class       Coding                 `json:"class"`
	Subject     *Reference             `json:"subject,omitempty"`
	Participant []EncounterParticipant `json:"participant,omitempty"`
	Appointment []Reference            `json:"appointment,omitempty"`
	Period      *Period                `json:"period,omitempty"`
	ReasonCode  []CodeableConcept      `json:"reasonCode,omitempty"`
	Location    []EncounterLocation    `json:"location,omitempty"`
}

// ObservationComponent is one part of a panel observation.
type ObservationComponent struct {
	Extension            []Extension      `json:"extension,omitempty"`
	Code                 CodeableConcept  `json:"code"`
	ValueQuantity        *Quantity        `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueInteger         *int64           `json:"valueInteger,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
}

// Observation is a FHIR Observation.
type Observation struct {
	Base
	Contained         []json.RawMessage      `json:"contained,omitempty"`
	Identifier        []Identifier           `json:"identifier,omitempty"`
	Status            string                 `json:"status"`
	Category          []CodeableConcept      `json:"category,omitempty"`
	Code              CodeableConcept        `json:"code"`
	Subject           *Reference             `json:"subject,omitempty"`
	Encounter         *Reference             `json:"encounter,omitempty"`
	EffectiveDateTime string                 `json:"effectiveDateTime,omitempty"`
	Issued            string                 `json:"issued,omitempty"`
	Performer         []Reference            `json:"performer,omitempty"`
	ValueQuantity     *Quantity              `json:"valueQuantity,omitempty"`
	DataAbsentReason  *CodeableConcept       `json:"dataAbsentReason,omitempty"`
	Note              []Annotation           `json:"note,omitempty"`
	BodySite          *CodeableConcept       `json:"bodySite,omitempty"`
	Method            *CodeableConcept       `json:"method,omitempty"`
	Device            *Reference             `json:"device,omitempty"`
	Component         []ObservationComponent `json:"component,omitempty"`
}

// Prism is a VisionPrescription prism.
type Prism struct {
	Amount json.Number `json:"amount"`
	Base   string      `json:"base"`
}

// LensSpecification is one eye's lens in a VisionPrescription.
type LensSpecification struct {
	Extension []Extension     `json:"extension,omitempty"`
	Product   CodeableConcept `json:"product"`
	Eye       string          `json:"eye"`
	Sphere    json.Number     `json:"sphere,omitempty"`
	Cylinder  json.Number     `json:"cylinder,omitempty"`
	Axis      *int64          `json:"axis,omitempty"`
	Prism     []Prism         `json:"prism,omitempty"`
	Add       json.Number     `json:"add,omitempty"`
	Power     json.Number     `json:"power,omitempty"`
	BackCurve json.Number     `json:"backCurve,omitempty"`
	Diameter  json.Number     `json:"diameter,omitempty"`
	Brand     string          `json:"brand,omitempty"`
	Note      []Annotation    `json:"note,omitempty"`
}

// VisionPrescription is a FHIR VisionPrescription.
type VisionPrescription struct {
	Base
	Identifier        []Identifier        `json:"identifier,omitempty"`
	Status            string              `json:"status"`
	Created           string              `json:"created,omitempty"`
	Patient           Reference           `json:"patient"`
	Encounter         *Reference          `json:"encounter,omitempty"`
	DateWritten       string              `json:"dateWritten,omitempty"`
	Prescriber        *Reference          `json:"prescriber,omitempty"`
	LensSpecification []LensSpecification `json:"lensSpecification"`
}

// Practitioner is a FHIR Practitioner (a staff member).
type Practitioner struct {
	Base
	Identifier []Identifier `json:"identifier,omitempty"`
	Active     *bool        `json:"active,omitempty"`
	Name       []HumanName  `json:"name,omitempty"`
}

// PractitionerRole is a FHIR PractitionerRole.
type PractitionerRole struct {
	Base
	Active       *bool             `json:"active,omitempty"`
	Practitioner *Reference        `json:"practitioner,omitempty"`
	Code         []CodeableConcept `json:"code,omitempty"`
	Location     []Reference       `json:"location,omitempty"`
}

// Location is a FHIR Location (a practice site).
type Location struct {
	Base
	Identifier []Identifier `json:"identifier,omitempty"`
	Status     string       `json:"status,omitempty"`
	Name       string       `json:"name,omitempty"`
}

// DeviceName is a name of a device.
type DeviceName struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Device is a FHIR Device (an instrument).
type Device struct {
	Base
	Identifier   []Identifier `json:"identifier,omitempty"`
	Manufacturer string       `json:"manufacturer,omitempty"`
	SerialNumber string       `json:"serialNumber,omitempty"`
	DeviceName   []DeviceName `json:"deviceName,omitempty"`
	ModelNumber  string       `json:"modelNumber,omitempty"`
}

// DocumentContent is one content item of a DocumentReference.
type DocumentContent struct {
	Attachment Attachment `json:"attachment"`
}

// DocumentContext is the clinical context of a DocumentReference.
type DocumentContext struct {
	Encounter []Reference `json:"encounter,omitempty"`
}

// DocumentReference is a FHIR DocumentReference.
type DocumentReference struct {
	Base
	Contained   []json.RawMessage `json:"contained,omitempty"`
	Identifier  []Identifier      `json:"identifier,omitempty"`
	Status      string            `json:"status"`
	Type        *CodeableConcept  `json:"type,omitempty"`
	Category    []CodeableConcept `json:"category,omitempty"`
	Subject     *Reference        `json:"subject,omitempty"`
	Date        string            `json:"date,omitempty"`
	Author      []Reference       `json:"author,omitempty"`
	Description string            `json:"description,omitempty"`
	Content     []DocumentContent `json:"content"`
	Context     *DocumentContext  `json:"context,omitempty"`
}

// Media is a FHIR R4 Media (accepted on pull; removed in R5).
type Media struct {
	Base
	Identifier      []Identifier     `json:"identifier,omitempty"`
	Status          string           `json:"status"`
	Type            *CodeableConcept `json:"type,omitempty"`
	Modality        *CodeableConcept `json:"modality,omitempty"`
	Subject         *Reference       `json:"subject,omitempty"`
	Encounter       *Reference       `json:"encounter,omitempty"`
	CreatedDateTime string           `json:"createdDateTime,omitempty"`
	BodySite        *CodeableConcept `json:"bodySite,omitempty"`
	Device          *Reference       `json:"device,omitempty"`
	Height          int64            `json:"height,omitempty"`
	Width           int64            `json:"width,omitempty"`
	Content         Attachment       `json:"content"`
}

// Binary is a FHIR Binary: raw bytes with a content type.
type Binary struct {
	Base
	ContentType string `json:"contentType"`
	Data        []byte `json:"data,omitempty"`
}

// ImagingInstance is one SOP instance of an ImagingStudy series.
type ImagingInstance struct {
	UID      string `json:"uid"`
	SOPClass Coding `json:"sopClass"`
	Number   int64  `json:"number,omitempty"`
}

// ImagingSeries is one series of an ImagingStudy.
type ImagingSeries struct {
	UID               string            `json:"uid"`
	Modality          Coding            `json:"modality"`
	NumberOfInstances int64             `json:"numberOfInstances,omitempty"`
	BodySite          *Coding           `json:"bodySite,omitempty"`
	Started           string            `json:"started,omitempty"`
	Instance          []ImagingInstance `json:"instance,omitempty"`
}

// ImagingStudy is a FHIR ImagingStudy.
type ImagingStudy struct {
	Base
	Contained         []json.RawMessage `json:"contained,omitempty"`
	Identifier        []Identifier      `json:"identifier,omitempty"`
	Status            string            `json:"status"`
	Subject           Reference         `json:"subject"`
	Encounter         *Reference        `json:"encounter,omitempty"`
	Started           string            `json:"started,omitempty"`
	NumberOfSeries    int64             `json:"numberOfSeries,omitempty"`
	NumberOfInstances int64             `json:"numberOfInstances,omitempty"`
	Series            []ImagingSeries   `json:"series,omitempty"`
}

// Basic is a FHIR Basic: a record R4 has no resource for. The lane writes
// its image annotations as Basic (code SystemResource|CodeAnnotation).
// Created is a date in R4, not a dateTime.
type Basic struct {
	Base
	Identifier []Identifier    `json:"identifier,omitempty"`
	Code       CodeableConcept `json:"code"`
	Subject    *Reference      `json:"subject,omitempty"`
	Created    string          `json:"created,omitempty"`
	Author     *Reference      `json:"author,omitempty"`
}

// AuditAgent is an actor of an AuditEvent.
type AuditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *Reference        `json:"who,omitempty"`
	Requestor bool              `json:"requestor"`
}

// AuditSource is the system that reported an AuditEvent.
type AuditSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
}

// AuditEntityDetail is a name/value detail of an audited entity.
type AuditEntityDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// AuditEntity is a record an AuditEvent is about.
type AuditEntity struct {
	What   *Reference          `json:"what,omitempty"`
	Type   *Coding             `json:"type,omitempty"`
	Role   *Coding             `json:"role,omitempty"`
	Detail []AuditEntityDetail `json:"detail,omitempty"`
}

// AuditEvent is a FHIR AuditEvent.
type AuditEvent struct {
	Base
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
}

// ProvenanceAgent is who or what took part in a change.
type ProvenanceAgent struct {
	Type *CodeableConcept `json:"type,omitempty"`
	Who  Reference        `json:"who"`
}

// Provenance is a FHIR Provenance: who changed what, from which device.
type Provenance struct {
	Base
	Target   []Reference       `json:"target"`
	Recorded string            `json:"recorded"`
	Activity *CodeableConcept  `json:"activity,omitempty"`
	Agent    []ProvenanceAgent `json:"agent"`
}

// BundleLink is a link of a Bundle (relation next is the next page).
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleRequest is the request part of a transaction or history entry.
type BundleRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
	IfMatch     string `json:"ifMatch,omitempty"`
}

// BundleResponse is the response part of a transaction-response or history
// entry.
type BundleResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// BundleEntry is one entry of a Bundle; Resource stays raw until the caller
// knows its type.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// Bundle is a FHIR Bundle (searchset, history, transaction, collection...).
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int64        `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// Next returns the URL of the next page, or "".
func (b *Bundle) Next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// OperationOutcomeIssue is one issue of an OperationOutcome.
type OperationOutcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// OperationOutcome is a FHIR OperationOutcome (an error or warning report).
type OperationOutcome struct {
	ResourceType string                  `json:"resourceType"`
	Issue        []OperationOutcomeIssue `json:"issue"`
}

// CapabilityInteraction names one supported interaction.
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// CapabilityResource describes what a server supports for one type.
type CapabilityResource struct {
	Type        string                  `json:"type"`
	Interaction []CapabilityInteraction `json:"interaction,omitempty"`
	Versioning  string                  `json:"versioning,omitempty"`
	SearchParam []struct {
		Name string `json:"name"`
		Type string `json:"type,omitempty"`
	} `json:"searchParam,omitempty"`
}

// CapabilityRest is the REST part of a CapabilityStatement.
type CapabilityRest struct {
	Mode        string                  `json:"mode"`
	Resource    []CapabilityResource    `json:"resource,omitempty"`
	Interaction []CapabilityInteraction `json:"interaction,omitempty"`
}

// CapabilityStatement is what a server says it supports (GET /metadata).
type CapabilityStatement struct {
	ResourceType string           `json:"resourceType"`
	Status       string           `json:"status,omitempty"`
	Date         string           `json:"date,omitempty"`
	Kind         string           `json:"kind,omitempty"`
	FHIRVersion  string           `json:"fhirVersion,omitempty"`
	Format       []string         `json:"format,omitempty"`
	Rest         []CapabilityRest `json:"rest,omitempty"`
}

// Supports reports whether the statement lists the type-level or
// system-level interaction code (e.g. "transaction", "history-type") for
// typ; typ "" asks about system-level interactions.
func (c *CapabilityStatement) Supports(typ, code string) bool {
	for _, r := range c.Rest {
		if typ == "" {
			for _, i := range r.Interaction {
				if i.Code == code {
					return true
				}
			}
			continue
		}
		for _, res := range r.Resource {
			if res.Type != typ {
				continue
			}
			for _, i := range res.Interaction {
				if i.Code == code {
					return true
				}
			}
		}
	}
	return false
}
