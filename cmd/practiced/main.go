// Command practiced is the Examlane reference practice server: FHIR R4 and
// DICOMweb over mutual TLS for the practice's exam lanes, with one-time-code
// enrolment, staff accounts and a synthetic demo practice, on SQLite in a
// data directory. The server itself is package
// github.com/examlane/examlane/cmd/practiced/server; this command is its
// administrator's command line.
//
// Usage:
//
//	practiced init --data DIR --tenant ID --name "Practice name" [--host NAME]...
//	practiced serve --data DIR [--addr 127.0.0.1:8443]
//	practiced enroll-code --data DIR --tenant T --location L --lane NAME
//	practiced seed --demo --data DIR --tenant T
//	practiced tenant add|list, lane list|revoke, user add|list|reset|unlock|disable
//
// Every command takes --help. Bad usage exits 2, other failures exit 1.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
