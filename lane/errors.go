package lane

import (
	"errors"
	"fmt"
)

// Sentinel errors shared by every layer. Adapters translate their own errors
// (sql.ErrNoRows, HTTP 404/412, serial port errors) into these at the edge;
// callers decide with errors.Is.
var (
	// ErrNotFound: the record does not exist (or is not visible to the
	// caller's tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since the caller read it (optimistic
	// concurrency); nothing was written.
	ErrConflict = errors.New("conflict: record changed since it was read")
	// ErrInvalid: the input is malformed; the message says what is wrong.
	ErrInvalid = errors.New("invalid input")
	// ErrImmutable: the record is signed and cannot change.
	ErrImmutable = errors.New("record is signed and cannot change")
	// ErrForbidden: the acting user's role does not allow the action.
	ErrForbidden = errors.New("not permitted")
	// ErrLocked: the lane is locked or the session has ended.
	ErrLocked = errors.New("lane is locked")
	// ErrUnavailable: a device, keychain or server is not reachable now.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthenticated: sealed data failed authentication (tampered, wrong
	// key, or moved to another row/column/practice).
	ErrUnauthenticated = errors.New("sealed data failed authentication")
)

// invalid returns an error wrapping ErrInvalid with the given message.
func invalid(msg string) error { return fmt.Errorf("%s: %w", msg, ErrInvalid) }

// Invalidf returns an error wrapping ErrInvalid with a formatted message.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}
