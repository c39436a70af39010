// Package server is the Examlane reference practice server ("practiced"): a
// small, real server that speaks the lane ↔ practice contract (FHIR R4 REST
// over mutual TLS, DICOMweb STOW-RS/WADO-RS/QIDO-RS, one-time-code
// enrolment) on top of SQLite in a data directory.
//
// It serves demo mode, tests and single-site practices. The lane's demo mode
// embeds it in-process: Init creates a data directory, Open opens it, and
// Handler, TLSConfig, ServeTLS or ListenAndServeTLS serve it.
//
// Tenants are practices. Every request is scoped by the tenant named in the
// lane's verified client certificate; another tenant's ids are answered with
// 404, exactly like ids that do not exist.
//
// FHIR resources are kept generically: the JSON document as received (plus
// meta.versionId and meta.lastUpdated) with a few extracted search columns
// (identifiers, patient reference, date, Appointment actors, the subjects
// of Basic, which holds the lanes' image annotations). The typed lane ↔ FHIR
// mapping lives in the lane's sync client, not here.
//
// Faults lets in-process end-to-end tests make the server fail on purpose
// (down, 500s, delays, a connection cut after commit, duplicate delivery).
package server
