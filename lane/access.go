package lane

// MeasurementPermission returns the permission that saving or removing m
// needs: what RecordMeasurement and RemoveMeasurement check, exported so
// that the practice server re-checks synced Observations the same way.
func MeasurementPermission(m Measurement) Permission { return permissionFor(m) }

// VisitPermission returns the permission that moving an appointment to
// status to needs (what AdvanceVisit checks); ok is false for a status the
// visit flow never moves to.
func VisitPermission(to AppointmentStatus) (p Permission, ok bool) { return visitPermission(to) }
