package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient/fhir"
)

func init() {
	register(&command{
		Path:    "db import",
		Summary: "load a FHIR R4 Bundle (patients, schedule, exams, measurements, prescriptions) into the lane database",
		Usage:   "[--create] FILE",
		Help: `Reads a FHIR R4 Bundle (JSON) holding Patient, Appointment, Encounter,
Observation and VisionPrescription resources, maps them to the lane's records
and saves them sealed, all in one transaction: either the whole bundle is
imported or nothing is. Each record is audited and queued for sync like any
other change. Resources of other types are skipped. References between
entries may use "Type/id" or urn:uuid fullUrls.

With --create the database is created first when the data directory has
none (as 'examlane db init' would). Prints the counts imported, as JSON.`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("create", false, "create the lane database when the data directory has none")
		},
		Run: runDBImport,
	})
}

func runDBImport(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 1 {
		return usagef("takes one FILE (a FHIR R4 Bundle in JSON)")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	recs, err := fhir.DecodeBundle(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	db, err := dbOpen(ctx, e)
	if err != nil && fs.Lookup("create").Value.String() == "true" && errors.Is(err, localdb.ErrNoDatabase) {
		db, err = dbCreate(ctx, e)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	stored, err := db.Import(ctx, dbActor("import "+args[0]), recs)
	if err != nil {
		return fmt.Errorf("import %s: nothing imported: %w", args[0], err)
	}
	counts := map[string]int{}
	for _, r := range stored {
		counts[importKind(r)]++
	}
	return dbPrintJSON(e, map[string]any{"file": args[0], "imported": counts, "total": len(stored)})
}

// dbCreate creates the database in the data directory with the default key
// source, as 'db init' without options does.
func dbCreate(ctx context.Context, e *env) (*localdb.DB, error) {
	cfg, err := dbConfig(e, false)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, err
	}
	cfg.NoCreate = false
	return localdb.Open(ctx, cfg)
}

// importKind names a record's kind in the import summary.
func importKind(r any) string {
	switch r.(type) {
	case lane.Patient:
		return "patients"
	case lane.Appointment:
		return "appointments"
	case lane.Encounter:
		return "encounters"
	case lane.Measurement:
		return "measurements"
	case lane.SpectacleRx:
		return "spectacle_prescriptions"
	case lane.ContactLensRx:
		return "contact_lens_prescriptions"
	}
	return "other"
}
