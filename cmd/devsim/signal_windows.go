//go:build windows

package main

import "os"

// notifyMeasureSignal does nothing on Windows, which has no user signal like
// SIGUSR1 to relay to c: Enter, "m" and --interval ask for measurements.
func notifyMeasureSignal(c chan<- os.Signal) {}
