//go:build !(linux || darwin || freebsd || openbsd || netbsd || windows)

package main

import "errors"

// diskFree is not implemented on this system.
func diskFree(string) (free, total uint64, err error) {
	return 0, 0, errors.New("free space is not measured on this system")
}
