// Package syncclient keeps an exam lane in step with the practice's central
// server: it pulls the day's schedule and the charts of the patients on it,
// pushes the lane's outbox, and survives hours offline without losing,
// duplicating or silently overwriting a change.
//
// The package is a FHIR R4 and DICOMweb client. All mapping between lane
// values and FHIR JSON lives in the subpackage fhir; this package owns the
// transport, the push and pull engine, conflict handling and enrolment. It
// depends on the local store only through the small Store interface below
// (lane.SyncStore plus two reads), which cmd/examlane wires to localdb.
//
// This comment is the project's copy of the wire contract between a lane and
// the practice server (cmd/practiced implements the server side). Both sides
// implement exactly this; deviations are listed at the end.
//
// # Transport
//
// HTTPS with TLS 1.3 only (MinVersion tls.VersionTLS13). The practice has its
// own CA (ECDSA P-256), created by `practiced init`, which also issues the
// server certificate (SAN 127.0.0.1, ::1, localhost and any --host given).
//
// Lane identity is an ECDSA P-256 key pair generated on the lane; the private
// key never leaves it. This package hands the key and certificate to its
// caller as PEM bytes and cmd persists them. At enrolment the server issues
// the lane a client certificate signed by the practice CA: CN = lane id, URI
// SANs urn:examlane:tenant:<tenantID> and urn:examlane:lane:<laneID>, valid
// for 90 days. Every endpoint except /enroll, /metadata and /healthz requires
// that certificate (mutual TLS) and the server derives the tenant only from
// the verified certificate, never from the request.
//
// Pinning: the lane trusts only the practice CA certificate received at
// enrolment (RootCAs holds that one certificate) and, in
// tls.Config.VerifyConnection, checks the SHA-256 of the CA's
// SubjectPublicKeyInfo against the pin recorded at enrolment. See TLSConfig.
//
// Every request made on behalf of a person carries X-Examlane-User: <userID>,
// and every write request carries exactly one person's changes. When the
// person is signed in online, the request also carries their short-lived
// user token (Authorization: Bearer, Config.Tokens; asked afresh for every
// request and retry). The token is optional by design: a change made while
// the lane was offline, or pushed after its author signed out or the shift
// ended, has no valid token and must still be delivered. The server
// therefore checks every write against the named user's current roles in
// its staff table, token or not: a write for an unknown or disabled user,
// or one the user's roles do not allow, is refused with 403 (the lane keeps
// the change queued with the reason and tries again each cycle, never
// dropping it); a token naming another user than X-Examlane-User, or one
// that is expired or forged, is refused with 401 (the lane then resends
// without the token). Audit events and Provenance are accepted for any
// actor, so the lane's audit trail always arrives. The server stamps each
// Provenance and AuditEvent a lane creates with the extension
// https://examlane.org/fhir/StructureDefinition/user-authenticated
// (valueBoolean): true when a token proved the user, false when the user
// was only asserted by the (mutually authenticated) lane.
//
// A plain-HTTP base URL is accepted only when Config.Insecure is true (the
// Medplum interoperability test on 127.0.0.1); never in production.
//
// # Enrolment
//
// An administrator runs `practiced enroll-code --data DIR --tenant T
// --location L --lane NAME`, which prints a one-time code (XXXX-XXXX-XXXX-XXXX,
// Crockford base32, 80 bits) valid for 15 minutes and usable once.
//
// On the lane, `examlane enroll --server URL --code CODE` (Enroll) generates
// the key pair and a CSR and POSTs JSON to URL/enroll. This single request
// uses TLS without certificate verification, because the lane cannot know the
// CA yet:
//
//	request  {"code_id": first 4 characters of the code, "csr": PEM, "lane": name}
//	response {"tenant", "tenant_name", "location", "lane_id", "client_cert": PEM,
//	          "ca_cert": PEM, "fhir_base": "/fhir/R4", "dicomweb_base": "/dicomweb",
//	          "mac": base64}
//
// where mac = HMAC-SHA256(key = the full code, msg = ca_cert DER ||
// client_cert DER). The lane verifies the mac with its code (a man in the
// middle who does not know the code cannot produce it), checks that the
// client certificate carries its own public key and was signed by the CA,
// and only then pins the CA. A wrong, expired or used code gives 403
// {"error": "..."}; the server burns a code after 5 wrong attempts.
//
// # FHIR R4
//
// Base /fhir/R4, JSON (application/fhir+json). Resources: Patient,
// Appointment, Encounter, Observation, VisionPrescription, Practitioner,
// PractitionerRole, Location, Device, DocumentReference, Binary, Media,
// ImagingStudy, AuditEvent, Provenance, Basic. GET /fhir/R4/metadata returns
// a CapabilityStatement listing them and the supported interactions. Image
// annotations travel as Basic with code
// https://examlane.org/fhir/CodeSystem/resource|annotation, subject the
// annotated image's DocumentReference or ImagingStudy (see package fhir).
//
// Lane-created records carry identifier {"system": "urn:examlane:id",
// "value": "<lane uuid>"}.
//
// Create: POST /fhir/R4/<Type> with If-None-Exist: identifier=urn:examlane:id|<uuid>
// answers 201 (new) or 200 (it already existed: the existing resource is
// returned, no duplicate is made). The response has ETag: W/"<versionId>",
// Location: <base>/<Type>/<id>/_history/<vid>, Last-Modified, and the body
// with meta.versionId and meta.lastUpdated.
//
// Update: PUT /fhir/R4/<Type>/<id> with If-Match: W/"<versionId>" answers 200
// with the new ETag; a version mismatch answers 412 with an
// OperationOutcome, after which the lane GETs the current version to record
// the conflict. Without If-Match practiced answers 428; the lane always sends
// it.
//
// Delete: DELETE /fhir/R4/<Type>/<id> (If-Match honoured) answers 204 or
// 200; deleted resources appear in _history with request.method = DELETE and
// are 410 Gone on read.
//
// Read GET /<Type>/<id>, vread /<Type>/<id>/_history/<vid>, instance history
// and type history GET /<Type>/_history?_since=<instant>.
//
// Search: _id (comma list), identifier=system|value,
// _lastUpdated=gt<instant> (also ge, lt, le), patient=Patient/<id> (or
// subject), Basic subject=<Type>/<id> (comma list: any subject, the
// annotated image), Appointment date=ge..&date=lt.. and actor=Location/<id>, _count
// (default 50, max 500), _sort=_lastUpdated, paging via the Bundle link with
// relation next (an opaque absolute URL). searchset Bundles carry total.
//
// Transaction Bundles: POST /fhir/R4 with type transaction and entries whose
// request.method is POST (+ ifNoneExist), PUT (+ ifMatch) or DELETE. They are
// all-or-nothing; the response is a transaction-response Bundle with
// per-entry status, location and etag. The client sends each change together
// with its Provenance this way.
//
// Every write by the lane comes with a Provenance (target the resource; agents
// Practitioner/<user> and Device/<lane-id>; recorded = server time).
//
// Server clock: every response carries Date, and searchset Bundles carry
// meta.lastUpdated = the server time at which the search ran. The lane's
// incremental watermark is that server time (never the lane clock); the next
// pull asks for _lastUpdated=ge<watermark - 2 s> and de-duplicates by id and
// versionId.
//
// Errors are OperationOutcome JSON with a human diagnostics; 404 for unknown
// ids and for another tenant's ids (never 403); 400 for malformed input; 5xx
// never leak internals.
//
// # DICOMweb
//
// Base /dicomweb. STOW-RS: POST /dicomweb/studies with Content-Type:
// multipart/related; type="application/dicom"; boundary=..., each part one
// DICOM Part-10 file, stored byte for byte. The response (application/dicom+json,
// PS3.18) has ReferencedSOPSequence and FailedSOPSequence. Storing is
// idempotent by SOPInstanceUID: the same instance with the same bytes
// succeeds again; different bytes fail (the first copy is kept).
//
// WADO-RS: GET /dicomweb/studies/{study}/series/{series}/instances/{sop}
// answers multipart/related application/dicom with the stored bytes;
// .../rendered answers image/jpeg when the server can render, else 406.
// QIDO-RS (minimal): GET /dicomweb/studies?PatientID=... answers a JSON list.
//
// The lane never re-encodes a camera's DICOM; plain photos go to FHIR as
// Binary + DocumentReference (Media is accepted on pull).
//
// # Ids
//
// Local ids of lane-created records are the lane uuid (identifier
// urn:examlane:id); the server assigns its own resource id, which the lane
// stores with SyncStore.MarkPushed(seq, serverID, serverVersion). Records
// created on the server (seeded patients, the schedule) are stored on the
// lane with local id = server id. References in pushed resources are
// rewritten local id → server id (SyncStore.ServerRef) and in pulled
// resources server id → local id (SyncStore.LocalID, falling back to the
// server id).
//
// # Deviations and additions
//
// The enrolment request also carries "proof": base64 of
// HMAC-SHA256(key = the canonical code, msg = the CSR's DER). Without it a
// lane would prove knowledge of only the code's first four characters (20
// bits), and anyone who saw them (the request travels over unverified TLS)
// could enrol during the code's lifetime. practiced requires it.
//
// R4 gives Provenance, AuditEvent and Binary no identifier element, so a
// lane uuid cannot travel as an identifier on them. The lane marks those
// resources with meta.tag {"system": "urn:examlane:id", "code": "<uuid>"} and
// creates them conditionally with ifNoneExist "_tag=urn:examlane:id|<uuid>".
// A server that does not index _tag still accepts them (a retried change may
// then leave a second Provenance or Binary; the record itself stays single).
//
// Every resource the lane writes also carries the extension
// https://examlane.org/fhir/StructureDefinition/change-id holding the outbox
// entry's idempotency key. When an update's response is lost after the
// server committed it, the retry meets 412; the client then reads the current
// version and, if it carries its own change-id, knows the change landed and
// marks it delivered instead of raising a false conflict.
//
// # Engine
//
// Client.Run loops: push the outbox in Seq order, then pull; on failure it
// backs off exponentially with jitter (1 s doubling to 5 min) using the
// injected clock, and a circuit breaker stops hammering a server that is
// down (after three consecutive failures it opens; when the back-off has
// passed one probe request decides whether to close it). Kick asks for a
// cycle now, Status returns a snapshot and Subscribe delivers changes; none
// of them blocks.
//
// Push: creates are POSTed with If-None-Exist; updates and deletes carry
// If-Match with the version the change was made on. Each change travels in a
// transaction Bundle with its Provenance (plain REST with a separate
// Provenance when the server does no transactions); runs of new records
// (audit events, measurements) by one user go fifty to a transaction, each
// entry still conditional; a run ends where the author changes, so that the
// request names its one user (and carries that user's token). A 412 that
// is not our own
// landed change becomes a lane.Conflict holding both versions (Mine = our
// FHIR JSON, Theirs = the server's), and the entry is parked. The parking
// rule: an entry is held back while the record it changes has an open
// conflict, and while any record it references (its patient, encounter,
// appointment or image) is parked or has not reached the server; every other
// entry continues in Seq order. ResolveConflict applies a person's decision.
//
// Pull: today's appointments (plus Config.LookAheadDays) at the lane's
// location, then the full charts of the patients on them (and the
// annotations of their images, by Basic?subject=), then, in later
// cycles, only what changed since the watermark (search by _lastUpdated per
// resource type, deletions from type history when the server advertises it,
// and 410 on read). A pulled change to a record with undelivered local
// changes is never applied over them: it becomes a conflict.
//
// A store that implements BatchApplier gets pulled records in batches of
// up to 500, each applied in one transaction, and one that implements
// BatchMarker has the entries of each delivered request marked in one
// transaction. A watermark is saved only after the records it covers are
// stored, so a crash mid-pull re-fetches whatever was not committed.
package syncclient
