package ui

import (
	"context"
	"errors"
	"time"

	"github.com/examlane/examlane/lane"
)

// This file declares what the screens need beyond lane.Service. cmd
// implements these interfaces with the real sign-in layer, sync client,
// device hub and configuration file; ui/uitest has in-memory fakes.

// Errors an Authenticator returns, wrapped, for the lock screen to explain.
var (
	// ErrBadCredentials: the user name, password, code or PIN was not
	// accepted. The lock screen does not say which.
	ErrBadCredentials = errors.New("user name, password or code not accepted")
	// ErrPINLockedOut: too many wrong PINs; a full sign-in is needed.
	ErrPINLockedOut = errors.New("too many wrong PINs")
	// ErrNoPIN: the user has not set a PIN for this shift.
	ErrNoPIN = errors.New("no PIN set")
)

// Authenticator verifies who is at the lane. Implementations must be safe
// for concurrent use; the screens call them from background goroutines.
// Wrong credentials wrap ErrBadCredentials, too many wrong PINs wrap
// ErrPINLockedOut, an unreachable verifier wraps lane.ErrUnavailable.
type Authenticator interface {
	// SignIn verifies a start-of-shift sign-in (user name, password and
	// the one-time code of the user's authenticator app) and returns the
	// shift session to begin.
	SignIn(ctx context.Context, user, password, totp string) (lane.Session, error)
	// Resume verifies the PIN of the locked session's user.
	Resume(ctx context.Context, user lane.UserID, pin string) error
	// SetPIN sets the user's PIN for resuming after a lock; the user must
	// be signed in. A PIN that is too short or too common wraps
	// lane.ErrInvalid.
	SetPIN(ctx context.Context, user lane.UserID, pin string) error
}

// SyncView is what the status bar and the conflict screen need from the
// sync client. Implementations must be safe for concurrent use; Status
// must not block.
type SyncView interface {
	// Status returns the current sync status without blocking.
	Status() lane.SyncStatus
	// Conflicts returns the conflicts waiting for a person.
	Conflicts(ctx context.Context) ([]lane.Conflict, error)
	// Resolve records a person's decision on a conflict. merged is the
	// record to keep as a JSON document for lane.ResolveMerge, nil
	// otherwise.
	Resolve(ctx context.Context, id lane.ConflictID, how lane.ConflictResolution, merged []byte) error
	// SyncNow asks for a sync as soon as possible and returns at once.
	SyncNow()
}

// InstrumentInfo is one configured instrument as the pretest and exam
// screens show it.
type InstrumentInfo struct {
	lane.InstrumentState
	// Kind is what the instrument measures, in words, e.g.
	// "autorefractor", "lensmeter", "phoropter", "tonometer".
	Kind string
	// CanMeasure is true when the lane can ask the instrument to measure
	// (the simulated instruments of demo mode).
	CanMeasure bool
	// AcceptsRx is true when the instrument takes a prescription (a
	// phoropter that loads the final Rx).
	AcceptsRx bool
}

// Instruments is what the screens need from the device hub.
// Implementations must be safe for concurrent use; List must not block.
// Readings do not come back from Measure: they arrive as captures through
// lane.Service.IngestCapture and its CaptureArrived event.
type Instruments interface {
	// List returns the configured instruments and their state.
	List() []InstrumentInfo
	// Measure asks the instrument with this profile to take a
	// measurement; it wraps lane.ErrUnavailable when it cannot.
	Measure(ctx context.Context, profile string) error
	// SendRx sends a prescription to the instrument with this profile.
	SendRx(ctx context.Context, profile string, rx lane.RxPair) error
}

// InstrumentSetting is one instrument in the lane's settings.
type InstrumentSetting struct {
	Name    string // the instrument's name on this lane, e.g. "Autorefractor"
	Profile string // the instrument profile, e.g. "nidek-ark1"
	Port    string // serial port, empty for USB discovery or file drops
	Folder  string // folder of a file-drop instrument
}

// LaneSettings are the settings an administrator changes on the lane.
type LaneSettings struct {
	LaneName    string
	LockTimeout time.Duration // idle time before the lane locks (2 to 15 minutes)
	DataDir     string
	ServerURL   string
	// Enrolment is the server enrolment status in words, read-only here
	// (enrol with `examlane enroll`).
	Enrolment   string
	Instruments []InstrumentSetting
}

// Settings loads and saves the lane's settings. Implementations must be
// safe for concurrent use. Save validates and wraps lane.ErrInvalid with a
// message a person can act on.
type Settings interface {
	Load(ctx context.Context) (LaneSettings, error)
	Save(ctx context.Context, s LaneSettings) error
	// Profiles returns the instrument profile names the lane knows.
	Profiles() []string
}

// Lockable is implemented by every screen that shows patient data. Lock
// drops what the screen holds of it (clears its widgets and forgets the
// chart), so that nothing decrypted stays on screen or in the screen's
// memory while the lane is locked. It is called on the Fyne goroutine.
type Lockable interface {
	Lock()
}
