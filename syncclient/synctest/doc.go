// Package synctest provides fakes for testing the sync client: Server, a
// small but real in-memory FHIR R4 + DICOMweb server on 127.0.0.1 that
// implements the lane ↔ practice server contract (mutual TLS with its own
// practice CA, enrolment, conditional create by identifier or _tag,
// If-Match/412, _lastUpdated and other searches, paging with next links or
// _offset, instance and type history with deletions, transactions, STOW-RS
// and WADO-RS) with fault injection (down, 5xx, slow, cut after commit,
// duplicate delivery, refused connections) and a settable clock; and Clock,
// a manual clock whose timers fire when it is advanced or, in auto-advance
// mode, at once.
//
// The lane's store in tests is lane/lanetest.Store. This package may be
// imported only from tests and from cmd/devsim.
package synctest
