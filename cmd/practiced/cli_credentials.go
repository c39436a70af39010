package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/examlane/examlane/cmd/internal/qr"
	"github.com/examlane/examlane/cmd/practiced/server"
)

// readPassword reads one line of standard input as the password (without
// its line ending). It is never echoed or logged.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-stdin: standard input is empty")
	}
	return line, nil
}

// printCredentials shows what the administrator hands to the person: the
// login, the temporary password (when one was made up), the TOTP secret
// as an otpauth:// URI and as a QR code to scan with an authenticator
// app. On a terminal the QR code is drawn black on white with ANSI
// colours; otherwise with dark modules as half-block ink.
func printCredentials(c *cli, cr server.Credentials) error {
	fmt.Fprintf(c.stdout, "login:    %s\n", cr.Login)
	if cr.Temporary {
		fmt.Fprintf(c.stdout, "password: %s   (temporary: give it to the person privately)\n", cr.Password)
	} else {
		fmt.Fprintln(c.stdout, "password: (as given on standard input)")
	}
	fmt.Fprintf(c.stdout, "TOTP:     scan the code below with an authenticator app, or enter this URI:\n%s\n\n", cr.URI)
	code, err := qr.Encode(cr.URI)
	if err != nil {
		return fmt.Errorf("QR code: %w (enter the URI by hand)", err)
	}
	if isTerminal(c.stdout) {
		return code.RenderANSI(c.stdout, 2)
	}
	return code.Render(c.stdout, 2, false)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
