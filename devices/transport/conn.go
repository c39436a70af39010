package transport

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/examlane/examlane/lane"
)

// Conn is an open byte link to one instrument.
//
// Read blocks until at least one byte arrives, the read timeout elapses
// (then it returns 0 and an error matching ErrReadTimeout), or the link is
// lost (an error matching ErrDisconnected). Close unblocks a pending Read
// and may be called more than once. One goroutine reads; writes and modem
// calls may come from another goroutine, but callers serialise their own
// writes.
type Conn interface {
	io.ReadWriteCloser
	// SetReadTimeout bounds each later Read; zero or less means no timeout.
	SetReadTimeout(d time.Duration) error
	// SetDTR and SetRTS drive the modem output lines. Links without modem
	// control (ptys, some adapters) return an error matching
	// ErrModemUnsupported.
	SetDTR(on bool) error
	SetRTS(on bool) error
	// ModemStatus reads the modem input lines; ErrModemUnsupported as above.
	ModemStatus() (ModemStatus, error)
}

// ModemStatus is the state of the modem input lines.
type ModemStatus struct {
	CTS, DSR, RI, DCD bool
}

// Errors returned by Conn implementations and OpenSerial. Each wraps a
// lane sentinel so callers outside the device layer can decide with
// errors.Is(err, lane.ErrUnavailable) and friends.
var (
	// ErrReadTimeout: Read saw no byte within the read timeout. It is not a
	// failure of the link.
	ErrReadTimeout = errors.New("read timeout")
	// ErrDisconnected: the port went away (unplugged, closed, the other end
	// of a pty hung up).
	ErrDisconnected = fmt.Errorf("instrument disconnected: %w", lane.ErrUnavailable)
	// ErrNoPort: the port does not exist (not plugged in, wrong name).
	ErrNoPort = fmt.Errorf("port not present: %w", lane.ErrUnavailable)
	// ErrBusy: another program holds the port.
	ErrBusy = fmt.Errorf("port in use by another program: %w", lane.ErrUnavailable)
	// ErrPermission: the user may not open the port.
	ErrPermission = fmt.Errorf("no permission to open the port: %w", lane.ErrForbidden)
	// ErrModemUnsupported: the link has no modem control lines.
	ErrModemUnsupported = errors.New("modem control lines not supported by this port")
	// ErrSignalTimeout: a wait for DSR or CTS gave up.
	ErrSignalTimeout = fmt.Errorf("instrument did not raise its ready line: %w", lane.ErrUnavailable)
)
