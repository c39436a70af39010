// Package fhir is the one place that maps lane records to FHIR R4 JSON and
// back. It holds a minimal hand-written model of exactly the resources and
// elements Examlane uses (no generic map soup), the Mapper that converts,
// the Patch that writes the lane's elements onto a server's copy without
// dropping what the lane does not model, and DecodeBundle for imports.
//
// Mapping (lane → FHIR R4):
//
//	lane.Patient        Patient: identifier MRN (practice system, type MR) and urn:examlane:id,
//	                    name, birthDate, gender, telecom, address; alerts and note as extensions
//	lane.Appointment    Appointment: status booked|arrived|checked-in|fulfilled|cancelled|noshow,
//	                    the lane's finer stage in extension flow-status; participants patient,
//	                    optometrist, location
//	lane.Encounter      Encounter: class AMB, status (+ flow-status), period, participant,
//	                    location, appointment; chief complaint as reasonCode; history,
//	                    assessment, plan, signature and addenda as extensions
//	lane.Measurement    Observation: category exam; code = the Examlane kind plus the verified
//	                    standard code where one fits (SNOMED 251794006 refraction, LOINC 79895-9
//	                    subjective panel, SNOMED 41633001 IOP, LOINC 28696-3 binocular AR PD);
//	                    components with UCUM units [diop], [p'diop], deg, mm[Hg], mm, um and the
//	                    verified SNOMED/LOINC component codes for sphere, cylinder, axis;
//	                    laterality in bodySite (SNOMED 362503005 / 362502000 / 362508001);
//	                    source and technique in method; the instrument as a contained Device;
//	                    effectiveDateTime = device time, issued = receipt time; capture id,
//	                    representative, cylinder sign, confidence, message as extensions
//	lane.SpectacleRx    VisionPrescription: product lens, per eye sphere, cylinder, axis,
//	                    prism [{amount, base}], add; dateWritten; prescriber; status active
//	                    when signed, else draft; PDs, lens type, expiry as extensions
//	lane.ContactLensRx  VisionPrescription: product contact, backCurve, diameter, brand
//	lane.Image          DICOM: ImagingStudy (one series, one instance, modality OP);
//	                    photo: DocumentReference + Binary (Media accepted on pull)
//	lane.Annotation     Basic: code https://examlane.org/fhir/CodeSystem/resource|annotation,
//	                    subject the image's DocumentReference or ImagingStudy, author
//	                    Practitioner, created (a date in R4); the instant, kind, points
//	                    (compact JSON [[x,y],...]), text and deleted marker as extensions
//	lane.AuditEvent     AuditEvent: type DCM 110100/110106/110110/110113/110114, subtype the
//	                    lane action, action C/R/U/D/E, agent, source, entities
//	(a pushed change)   Provenance: target, author Practitioner, performer Device (the lane)
//
// Codes not verified in /work/shared/design/sync.md §1.2–1.3 are not used;
// Examlane's own code systems (https://examlane.org/fhir/CodeSystem/...) and
// extensions (https://examlane.org/fhir/StructureDefinition/...) carry
// everything else, so lane → FHIR → lane is lossless.
//
// Mapping is pure: references are written with whatever ids the lane values
// carry. The sync engine rewrites them between local and server ids with
// MapRefs.
package fhir
