package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/examlane/examlane/lane"
)

// The audit commands read the lane's tamper-evident audit log.

func init() {
	register(&command{
		Path:    "audit verify",
		Summary: "verify the audit log's hash chain and signed checkpoints",
		Help: `Walks the whole chain from the first event: no gaps, every link and hash
recomputed, every signed checkpoint checked. Exits 1 naming the first broken
link when the log was altered.`,
		Run: runAuditVerify,
	})
	register(&command{
		Path:    "audit show",
		Summary: "list audit events of a patient or a user",
		Usage:   "--patient ID | --user NAME [--limit N] [--json]",
		Help: `Lists matching events oldest first (with --limit, the most recent N).
--user takes a login of a user cached on the lane or a user id.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("patient", "", "patient `ID`")
			fs.String("user", "", "user login or `ID`")
			fs.Int("limit", 0, "show only the most recent `N` events")
			fs.Bool("json", false, "print JSON")
		},
		Run: runAuditShow,
	})
}

func runAuditVerify(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !rep.OK() {
		fmt.Fprintf(e.Stdout, "audit chain BROKEN: first broken link at event %d: %s (%d events verified before it)\n", rep.BrokenAt, rep.Problem, rep.Events)
		return fmt.Errorf("audit chain broken at event %d", rep.BrokenAt)
	}
	fmt.Fprintf(e.Stdout, "audit chain ok: %d events, %d signed checkpoints verified\n", rep.Events, rep.Checkpoints)
	return nil
}

func runAuditShow(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	patient, who := fs.Lookup("patient").Value.String(), fs.Lookup("user").Value.String()
	if len(args) != 0 || (patient == "") == (who == "") {
		return usagef("want exactly one of --patient ID or --user NAME")
	}
	limit, _ := strconv.Atoi(fs.Lookup("limit").Value.String())
	db, err := dbOpen(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	f := lane.AuditFilter{PatientID: lane.PatientID(patient), Limit: limit}
	if who != "" {
		f.User = lane.UserID(who)
		if u, err := db.UserByLogin(ctx, who); err == nil {
			f.User = u.ID
		} else if !errors.Is(err, lane.ErrNotFound) {
			return err
		}
	}
	evs, err := db.ListAudit(ctx, f)
	if err != nil {
		return err
	}
	// Reading the log is itself an access worth recording.
	a := dbActor("")
	if err := db.Audit(ctx, lane.AuditEvent{User: a.User, Role: a.PrimaryRole(), PatientID: f.PatientID, Action: lane.AuditView,
		Entity: "AuditLog", Detail: fmt.Sprintf("audit show: %d events (user filter %q)", len(evs), f.User)}); err != nil {
		return err
	}
	if fs.Lookup("json").Value.String() == "true" {
		if evs == nil {
			evs = []lane.AuditEvent{}
		}
		return dbPrintJSON(e, evs)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tUSER\tACTION\tOUTCOME\tENTITY\tREASON\tDETAIL")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.At.UTC().Format(time.DateTime), ev.User, ev.Action, ev.Outcome,
			ev.Entity, ev.Reason, ev.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "%d events\n", len(evs))
	return nil
}
