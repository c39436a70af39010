package main

import (
	"os"
	"strconv"
	"time"
)

// readyFileEnv names an environment variable: when set, the app writes the
// milliseconds from process start to the shown sign-in screen into that
// file once the window is up. Startup measurements and end-to-end tests
// wait for it instead of guessing with sleeps.
const readyFileEnv = "EXAMLANE_READY_FILE"

// signalReady writes the ready file, if one was asked for. It is called on
// the Fyne goroutine when the window has started.
func signalReady() {
	path := os.Getenv(readyFileEnv)
	if path == "" {
		return
	}
	ms := time.Since(processStart).Milliseconds()
	_ = os.WriteFile(path, []byte(strconv.FormatInt(ms, 10)+"\n"), 0o600)
}
