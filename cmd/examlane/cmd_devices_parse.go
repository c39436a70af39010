package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/examlane/examlane/devices/codec"
	_ "github.com/examlane/examlane/devices/codec/all" // every instrument dialect
)

func init() {
	register(&command{
		Path:    "devices parse",
		Summary: "decode saved instrument output and print it as JSON lines",
		Usage:   "[--format auto|" + strings.Join(codec.Names(), "|") + "] FILE...",
		Help: `Decodes files holding what an instrument sent — a serial capture (raw bytes,
or the same bytes written as hexadecimal text such as "01 4E 49 44 …"), or an
exported XML file — and prints one JSON object per capture, one per line:

  {"file": "...", "format": "...", "vendor": "...", "model": "...",
   "device_time": "RFC 3339" | null, "readings": [...], "warnings": [...]}

A serial capture may hold several transmissions: each complete frame is one
capture. Each reading has "kind" (refraction, keratometry, iop, pachymetry,
lensometry, pd, va, error), "eye" (R, L, B), "representative", "source"
(autorefraction, objective, subjective, final, unaided, lensmeter, ...) and
the values that apply, in the units and cylinder convention the device used.

--format auto (the default) recognises the dialect from the bytes:
  nidek-rt      NIDEK RT-2100/3100/5100 phoropter print (SOH … EOT)
  nidek-dblock  NIDEK lensmeters, ARK/AR, tonometer D-block frames (checksum)
  joia          JOIA XML (TOPCON and others; Shift-JIS, UTF-8, UTF-16)
  nidek-xml     NIDEK XML exports (LM-7, LM-1800P, ARK-5xx, NT-530P)
  dcs           Vision Council DCS messages (FS … GS, CRC-16)
FILE "-" reads standard input.

A file that cannot be read or decoded, or a frame that never finished or
failed its checksum, is reported on standard error (file name and reason,
never patient data); the other files and frames are still decoded, and the
exit status is 1.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("format", "auto", "the input `dialect`: auto, "+strings.Join(codec.Names(), ", "))
		},
		Run: runDevicesParse,
	})
}

func runDevicesParse(_ context.Context, e *env, fs *flag.FlagSet, args []string) error {
	format := fs.Lookup("format").Value.String()
	var forced codec.Codec
	if format != "auto" {
		c, err := codec.Lookup(format)
		if err != nil {
			return usagef("unknown --format %q (want auto or one of %s)", format, strings.Join(codec.Names(), ", "))
		}
		forced = c
	}
	if len(args) == 0 {
		return usagef("want at least one FILE")
	}
	failed := 0
	for _, name := range args {
		if !parseOneFile(e, name, forced) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs had errors", failed, len(args))
	}
	return nil
}

// parseOneFile decodes one input and prints its captures; problems go to
// stderr and make it return false.
func parseOneFile(e *env, name string, forced codec.Codec) bool {
	report := func(format string, args ...any) {
		fmt.Fprintf(e.Stderr, "examlane devices parse: %s: %s\n", name, fmt.Sprintf(format, args...))
	}
	data, err := readInput(e, name)
	if err != nil {
		report("%v", err)
		return false
	}
	if b, ok := codec.HexText(data); ok {
		data = b
	}
	c := forced
	if c == nil {
		var ok bool
		if c, ok = codec.Detect(data); !ok {
			report("format not recognised (name it with --format)")
			return false
		}
	}
	ok := true
	for _, r := range codec.DecodeInput(c, data) {
		if r.Err != nil {
			report("%v", r.Err)
			ok = false
			continue
		}
		if err := codec.WriteReport(e.Stdout, codec.NewReport(name, r.Capture)); err != nil {
			report("%v", err)
			return false
		}
	}
	return ok
}

// readInput reads a file, or standard input for "-", up to codec.MaxInput.
func readInput(e *env, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = e.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return nil, pe.Err // the name is printed by the caller
			}
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, codec.MaxInput+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	if len(data) > codec.MaxInput {
		return nil, fmt.Errorf("larger than %d MiB; not an instrument capture", codec.MaxInput>>20)
	}
	return data, nil
}
