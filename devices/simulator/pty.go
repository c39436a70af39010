package simulator

import (
	"errors"
	"fmt"
	"os"

	"github.com/creack/pty"
)

// PTY is a pseudo-terminal pair standing in for a serial cable: the
// simulated instrument reads and writes Master, the lane opens Path like a
// serial port. The pty ignores baud rate, parity and stop bits and has no
// modem lines, so link settings are honoured by the simulator's framing
// alone.
type PTY struct {
	// Master is the instrument's end of the cable. It supports read
	// deadlines.
	Master *os.File
	// Path is the lane's end, e.g. /dev/pts/3.
	Path string

	slave *os.File // held open: keeps the node alive between lane opens
	link  string
}

// OpenPTY opens a pty pair and puts its line discipline in raw mode (no
// echo, no CR/LF translation), so the bytes written to Master reach the
// lane unchanged even before the lane configures the port. When link is
// not empty, a symlink with that name is made to point at Path, giving the
// lane a stable name across simulated unplug/replug cycles.
func OpenPTY(link string) (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("simulator: open pty: %w", err)
	}
	if err := makeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("simulator: raw mode on %s: %w", s.Name(), err)
	}
	path := s.Name()
	if m, err = pollable(m); err != nil {
		s.Close()
		return nil, fmt.Errorf("simulator: pty: %w", err)
	}
	p := &PTY{Master: m, Path: path, slave: s}
	if link != "" {
		tmp := link + ".new"
		_ = os.Remove(tmp)
		if err := os.Symlink(p.Path, tmp); err != nil {
			p.Close()
			return nil, fmt.Errorf("simulator: link %s: %w", link, err)
		}
		if err := os.Rename(tmp, link); err != nil {
			p.Close()
			return nil, fmt.Errorf("simulator: link %s: %w", link, err)
		}
		p.link = link
	}
	return p, nil
}

// Close closes both ends; a lane reading the pty sees a hang-up, like an
// unplugged cable. The symlink, if any, is removed.
func (p *PTY) Close() error {
	err := errors.Join(p.Master.Close(), p.slave.Close())
	if p.link != "" {
		if target, lerr := os.Readlink(p.link); lerr == nil && target == p.Path {
			_ = os.Remove(p.link)
		}
	}
	return err
}
