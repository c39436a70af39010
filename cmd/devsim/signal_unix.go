//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyMeasureSignal relays SIGUSR1, which asks for a measurement, to c.
func notifyMeasureSignal(c chan<- os.Signal) {
	signal.Notify(c, syscall.SIGUSR1)
}
