package lane

// MeasurementPermissions returns the permissions of which saving or
// removing m needs any one: what RecordMeasurement and RemoveMeasurement
// check, exported so that the practice server re-checks synced
// Observations the same way.
func MeasurementPermissions(m Measurement) []Permission { return permissionsFor(m) }

// VisitPermission returns the permission that moving an appointment to
// status to needs (what AdvanceVisit checks); ok is false for a status the
// visit flow never moves to.
func VisitPermission(to AppointmentStatus) (p Permission, ok bool) { return visitPermission(to) }
