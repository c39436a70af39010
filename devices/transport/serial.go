package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// SerialConfig is how to open and prepare a serial port for one instrument.
type SerialConfig struct {
	Link Link
	// DTR and RTS are the levels to drive after opening. The RT-series
	// phoropters send nothing unless DTR is asserted.
	DTR, RTS bool
	// WaitDSR and WaitCTS wait after opening until the instrument raises
	// the line. Cheap USB adapters do not wire them, so both are settings;
	// on a port without modem lines the wait is skipped with a note.
	WaitDSR, WaitCTS bool
	// WaitTimeout bounds the waits; zero means 5 s.
	WaitTimeout time.Duration
	// Mask7 clears bit 7 of every byte read. It defaults to on for 7-bit
	// links (see Mask7For); a pty or an adapter set to 8 bits hands the
	// parity bit through as the top bit.
	Mask7 bool
	// KeepInput keeps bytes that were waiting before the open; by default
	// the input buffer is flushed so stale bytes never start a frame.
	KeepInput bool
}

// Mask7For reports whether bytes on l must be masked to 7 bits.
func Mask7For(l Link) bool { return l.DataBits == 7 }

// SerialPort is an open serial port. It implements Conn and is safe for
// one reader plus one writer at a time.
type SerialPort struct {
	path  string
	port  serial.Port
	mask7 bool

	mu    sync.Mutex
	notes []string // guarded by mu

	closeOnce sync.Once
	closeErr  error
}

var _ Conn = (*SerialPort)(nil)

// serialOpen is the go.bug.st/serial open call; tests replace it.
var serialOpen = serial.Open

// OpenSerial opens path with cfg: it applies the link settings, flushes
// stale input, drives DTR/RTS and, when asked, waits (bounded by ctx and
// cfg.WaitTimeout) for DSR/CTS. Failures map to ErrNoPort, ErrBusy,
// ErrPermission or ErrSignalTimeout, wrapped with the port path.
func OpenSerial(ctx context.Context, path string, cfg SerialConfig) (*SerialPort, error) {
	mode := &serial.Mode{BaudRate: 9600, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	if !cfg.Link.IsZero() {
		m, err := serialMode(cfg.Link)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		mode = m
	}
	p, err := serialOpen(path, mode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, classify(err))
	}
	s := &SerialPort{path: path, port: p, mask7: cfg.Mask7}
	if !cfg.KeepInput {
		_ = p.ResetInputBuffer() // best effort: a pty or odd driver may refuse
	}
	if err := s.SetDTR(cfg.DTR); err != nil {
		s.note(err)
	}
	if err := s.SetRTS(cfg.RTS); err != nil {
		s.note(err)
	}
	if cfg.WaitDSR || cfg.WaitCTS {
		if err := s.waitLines(ctx, cfg); err != nil {
			s.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return s, nil
}

func (s *SerialPort) note(err error) {
	msg := err.Error()
	if errors.Is(err, ErrModemUnsupported) {
		msg = "modem lines not available on this port (a pty or an adapter without them): DTR/RTS not driven, DSR/CTS not checked"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.notes {
		if n == msg {
			return
		}
	}
	s.notes = append(s.notes, msg)
}

// Notes returns remarks made while opening, e.g. that the port has no
// modem lines so the DSR wait was skipped.
func (s *SerialPort) Notes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.notes...)
}

// Path returns the port's device path.
func (s *SerialPort) Path() string { return s.path }

func (s *SerialPort) waitLines(ctx context.Context, cfg SerialConfig) error {
	limit := cfg.WaitTimeout
	if limit <= 0 {
		limit = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := s.ModemStatus()
		if errors.Is(err, ErrModemUnsupported) {
			s.note(err)
			return nil
		}
		if err != nil {
			return err
		}
		if (!cfg.WaitDSR || st.DSR) && (!cfg.WaitCTS || st.CTS) {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				which := "DSR"
				if cfg.WaitCTS && !st.CTS {
					which = "CTS"
				}
				return fmt.Errorf("%s still low after %v (is the instrument on? does the cable carry it? set wait_dsr/wait_cts = false for adapters that do not wire it): %w", which, limit, ErrSignalTimeout)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Read reads into p, masking to 7 bits when configured. See Conn.
func (s *SerialPort) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := s.port.Read(p)
	if s.mask7 {
		for i := range p[:n] {
			p[i] &= 0x7f
		}
	}
	if err != nil {
		return n, fmt.Errorf("read %s: %w", s.path, classify(err))
	}
	if n == 0 {
		return 0, ErrReadTimeout
	}
	return n, nil
}

// Write writes p to the port.
func (s *SerialPort) Write(p []byte) (int, error) {
	n, err := s.port.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", s.path, classify(err))
	}
	return n, nil
}

// SetReadTimeout bounds each later Read; d <= 0 means no timeout.
func (s *SerialPort) SetReadTimeout(d time.Duration) error {
	if d <= 0 {
		d = serial.NoTimeout
	}
	return s.port.SetReadTimeout(d)
}

// SetDTR drives the DTR line.
func (s *SerialPort) SetDTR(on bool) error {
	if err := s.port.SetDTR(on); err != nil {
		return fmt.Errorf("set DTR on %s: %w", s.path, classifyModem(err))
	}
	return nil
}

// SetRTS drives the RTS line.
func (s *SerialPort) SetRTS(on bool) error {
	if err := s.port.SetRTS(on); err != nil {
		return fmt.Errorf("set RTS on %s: %w", s.path, classifyModem(err))
	}
	return nil
}

// ModemStatus reads CTS, DSR, RI and DCD.
func (s *SerialPort) ModemStatus() (ModemStatus, error) {
	b, err := s.port.GetModemStatusBits()
	if err != nil {
		return ModemStatus{}, fmt.Errorf("modem status of %s: %w", s.path, classifyModem(err))
	}
	return ModemStatus{CTS: b.CTS, DSR: b.DSR, RI: b.RI, DCD: b.DCD}, nil
}

// Close closes the port, unblocking a pending Read. Later calls return the
// first call's result.
func (s *SerialPort) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.port.Close() })
	return s.closeErr
}

func serialMode(l Link) (*serial.Mode, error) {
	m := &serial.Mode{BaudRate: l.Baud, DataBits: l.DataBits}
	switch l.Parity {
	case ParityNone:
		m.Parity = serial.NoParity
	case ParityEven:
		m.Parity = serial.EvenParity
	case ParityOdd:
		m.Parity = serial.OddParity
	case ParityMark:
		m.Parity = serial.MarkParity
	case ParitySpace:
		m.Parity = serial.SpaceParity
	default:
		return nil, fmt.Errorf("parity %q unknown", rune(l.Parity))
	}
	switch l.StopBits {
	case StopBits1:
		m.StopBits = serial.OneStopBit
	case StopBits1Dot5:
		m.StopBits = serial.OnePointFiveStopBits
	case StopBits2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("stop bits %d unknown", l.StopBits)
	}
	return m, nil
}

// classify maps go.bug.st/serial and OS errors onto the package errors,
// keeping the original text.
func classify(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortClosed:
			return ErrDisconnected
		case serial.PortNotFound:
			return fmt.Errorf("%w (%v)", ErrNoPort, err)
		case serial.PortBusy:
			return ErrBusy
		case serial.PermissionDenied:
			return errPermission
		case serial.InvalidSerialPort:
			return fmt.Errorf("not a serial port: %w", err)
		}
		return err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("%w (%v)", ErrNoPort, err)
	case errors.Is(err, syscall.EIO):
		return ErrDisconnected
	case errors.Is(err, syscall.EBUSY):
		return ErrBusy
	case errors.Is(err, fs.ErrPermission):
		return errPermission
	}
	return err
}

var errPermission = fmt.Errorf("%w (add the lane user to the serial group, e.g. dialout)", ErrPermission)

// classifyModem is classify for modem-line calls, where ENOTTY/EINVAL mean
// the port has no modem lines (ptys, some USB adapters).
func classifyModem(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.FunctionNotImplemented {
		return fmt.Errorf("%w (%v)", ErrModemUnsupported, err)
	}
	if errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) {
		return fmt.Errorf("%w (%v)", ErrModemUnsupported, err)
	}
	return classify(err)
}
