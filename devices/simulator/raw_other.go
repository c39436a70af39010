//go:build !linux

package simulator

import (
	"errors"
	"os"
)

// makeRaw is only implemented on Linux; the simulator's pty mode is a
// development and test tool.
func makeRaw(*os.File) error { return errors.New("pty simulation is implemented on Linux only") }

func pollable(f *os.File) (*os.File, error) { return f, nil }
