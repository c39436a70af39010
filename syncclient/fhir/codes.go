package fhir

// Code systems and value sets. Standard codes are used only where
// /work/shared/design/sync.md §1.2–1.3 verified them; everything else uses
// Examlane's own code systems, which a server stores without needing to
// understand them.
const (
	SystemSNOMED         = "http://snomed.info/sct"
	SystemLOINC          = "http://loinc.org"
	SystemUCUM           = "http://unitsofmeasure.org"
	SystemObsCategory    = "http://terminology.hl7.org/CodeSystem/observation-category"
	SystemActCode        = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	SystemParticipation  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	SystemIdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
	SystemVisionProduct  = "http://terminology.hl7.org/CodeSystem/ex-visionprescriptionproduct"
	SystemVisionBase     = "http://hl7.org/fhir/vision-base-codes"
	SystemDataAbsent     = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	SystemDCM            = "http://dicom.nema.org/resources/ontology/DCM"
	SystemAuditAction    = "http://hl7.org/fhir/audit-event-action"
	SystemObjectRole     = "http://terminology.hl7.org/CodeSystem/object-role"
	SystemAuditEntity    = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	SystemProvAgentType  = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	SystemDataOperation  = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	SystemRFC3986        = "urn:ietf:rfc:3986"

	// SystemLaneID is the identifier system of every record created on a
	// lane; the value is the lane's uuid for the record.
	SystemLaneID = "urn:examlane:id"
	// SystemProvenanceTag tags a Provenance with the idempotency key of the
	// change it describes.
	SystemProvenanceTag = "urn:examlane:provenance"
	// DefaultMRNSystem is the Patient MRN identifier system used when the
	// practice has not configured its own.
	DefaultMRNSystem = "urn:examlane:mrn"
	// SystemDICOMUID is the identifier system of DICOM UIDs (values are
	// urn:oid:…).
	SystemDICOMUID = "urn:dicom:uid"

	// Examlane's own code systems.
	SystemMeasure   = "https://examlane.org/fhir/CodeSystem/measurement"
	SystemSource    = "https://examlane.org/fhir/CodeSystem/source"
	SystemIOPMethod = "https://examlane.org/fhir/CodeSystem/iop-method"
	SystemImageKind = "https://examlane.org/fhir/CodeSystem/image-kind"
	SystemRole      = "https://examlane.org/fhir/CodeSystem/role"
	SystemAudit     = "https://examlane.org/fhir/CodeSystem/audit-action"
	SystemLensType  = "https://examlane.org/fhir/CodeSystem/lens-type"
	SystemDistance  = "https://examlane.org/fhir/CodeSystem/distance"
	// SystemResource names what a Basic resource holds (CodeAnnotation).
	SystemResource = "https://examlane.org/fhir/CodeSystem/resource"
)

// CodeAnnotation is the SystemResource code of a Basic holding an image
// annotation.
const CodeAnnotation = "annotation"

// Extension URLs. Every one is Examlane's; a foreign server keeps them as it
// keeps any extension.
const (
	extBase = "https://examlane.org/fhir/StructureDefinition/"

	// ExtChangeID holds the idempotency key of the last lane change written
	// to the resource (see the package doc of syncclient).
	ExtChangeID       = extBase + "change-id"
	ExtFlowStatus     = extBase + "flow-status"
	ExtLane           = extBase + "lane"
	ExtWith           = extBase + "with"
	ExtAlert          = extBase + "alert"
	ExtNote           = extBase + "note"
	ExtSignature      = extBase + "signature" // complex: by, at
	ExtAddendum       = extBase + "addendum"  // complex: author, at, text
	ExtHistory        = extBase + "history"
	ExtAssessment     = extBase + "assessment"
	ExtPlan           = extBase + "plan"
	ExtCaptureID      = extBase + "capture-id"
	ExtRepresentative = extBase + "representative"
	ExtCylinderSign   = extBase + "cylinder-sign"
	ExtConfidence     = extBase + "confidence"
	ExtMessage        = extBase + "message"
	ExtProfile        = extBase + "device-profile"
	ExtPD             = extBase + "pd"
	ExtMonoPDRight    = extBase + "mono-pd-right"
	ExtMonoPDLeft     = extBase + "mono-pd-left"
	ExtNearPD         = extBase + "near-pd"
	ExtLensType       = extBase + "lens-type"
	ExtExpires        = extBase + "expires"
	ExtSignedAt       = extBase + "signed-at"
	ExtVertex         = extBase + "vertex"
	ExtLaterality     = extBase + "laterality"
	ExtImageKind      = extBase + "image-kind"
	ExtSHA256         = extBase + "sha256"
	ExtPixelSpacing   = extBase + "pixel-spacing-um"
	ExtWidth          = extBase + "width"
	ExtHeight         = extBase + "height"
	ExtAuditSeq       = extBase + "audit-seq"
	ExtAuditOutcome   = extBase + "audit-outcome"
	ExtRole           = extBase + "role"
	ExtAuditLane      = extBase + "audit-lane"
	ExtInstrument     = extBase + "instrument"
	ExtSize           = extBase + "size"
	ExtDeleted        = extBase + "deleted"
	ExtAnnotKind      = extBase + "annotation-kind"
	ExtAnnotPoints    = extBase + "annotation-points" // compact JSON [[x,y],...]
	ExtAnnotText      = extBase + "annotation-text"
	ExtAnnotatedAt    = extBase + "annotated-at" // the instant; Basic.created is a date in R4
)

// Verified laterality codes (SNOMED CT body structures, sync.md §1.2).
const (
	SNOMEDRightEye = "362503005"
	SNOMEDLeftEye  = "362502000"
	SNOMEDBothEyes = "362508001"
)

// Verified clinical codes (sync.md §1.2–1.3).
const (
	SNOMEDRefraction = "251794006" // Refraction
	SNOMEDSphere     = "251795007" // Power of sphere
	SNOMEDCylinder   = "251797004" // Power of cylinder
	SNOMEDAxis       = "251799001" // Axis of cylinder
	SNOMEDIOP        = "41633001"  // Intraocular pressure

	LOINCSubjectivePanel = "79895-9" // Subjective refraction panel
	LOINCSphereR         = "65890-6" // Spherical power Right eye
	LOINCCylinderR       = "65892-2" // Cylindrical power Right eye
	LOINCAxisR           = "65891-4" // Cylinder axis Right eye
	LOINCSphereL         = "65894-8" // Spherical power Left eye
	LOINCCylinderL       = "65896-3" // Cylindrical power Left eye
	LOINCAxisL           = "65895-5" // Cylinder axis Left eye
	LOINCLensSphere      = "96053-4" // Corrective lens Sphere far by Lensmeter
	LOINCPDBinocularAR   = "28696-3" // Eye Pupillary distance.binocular Autorefractor.auto
	LOINCSteepPowerL     = "28997-5" // Left cornea Steep refractive power by Keratometry
)

// UCUM unit codes.
const (
	UnitDiopter      = "[diop]"
	UnitPrismDiopter = "[p'diop]"
	UnitDegree       = "deg"
	UnitMmHg         = "mm[Hg]"
	UnitMillimeter   = "mm"
	UnitMicrometer   = "um"
	UnitOne          = "1"
)

// DICOM codes for AuditEvent.type (DICOM PS3.16 CID 400) and modality.
const (
	DCMApplicationActivity = "110100"
	DCMExport              = "110106"
	DCMPatientRecord       = "110110"
	DCMSecurityAlert       = "110113"
	DCMUserAuthentication  = "110114"
	DCMModalityOP          = "OP"
)

// SOPClassOP8Bit is the Ophthalmic Photography 8 Bit Image Storage SOP
// class, assumed when a DICOM file does not say.
const SOPClassOP8Bit = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
