package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
)

func init() {
	register(&command{
		Path:    "sync status",
		Summary: "show the enrolment and what waits to be synced",
		Usage:   "[--json] [--offline]",
		Help: `Prints the practice server, the lane's identity and certificate expiry, the
changes waiting to reach the server and the open conflicts, and whether the
server answers this lane now (skip that check with --offline).`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("json", false, "print JSON")
			fs.Bool("offline", false, "do not contact the server")
		},
		Run: runSyncStatus,
	})
	register(&command{
		Path:    "sync now",
		Summary: "push the lane's changes and pull the day's charts once",
		Usage:   "[--timeout D]",
		Help: `Runs one sync cycle against the practice server: the outbox in order, then
today's schedule and charts. Exit status 1 when the cycle fails; the changes
stay queued and are sent on the next try.`,
		Flags: func(fs *flag.FlagSet) {
			fs.Duration("timeout", 5*time.Minute, "give up after `D`")
		},
		Run: runSyncNow,
	})
}

// syncStore is the lane's store as the sync commands use it.
type syncStore interface {
	syncclient.Store
	Close() error
}

// syncDataDir and syncOpenStore find the data directory and open the lane's
// database, through the db commands' helpers; tests replace syncOpenStore.
var (
	syncDataDir   = func(e *env) (string, error) { return dbDataDir(e) }
	syncOpenStore = func(ctx context.Context, e *env) (syncStore, error) { return dbOpen(ctx, e) }
)

// syncStatus is what 'sync status' prints.
type syncStatus struct {
	Server      string    `json:"server"`
	Tenant      string    `json:"tenant"`
	LaneID      string    `json:"lane_id"`
	LaneName    string    `json:"lane_name"`
	Location    string    `json:"location"`
	CertExpires time.Time `json:"cert_expires"`
	Queued      int       `json:"queued"`
	Conflicts   int       `json:"conflicts"`
	Online      *bool     `json:"online,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// newSyncClient builds the sync client of this lane over store.
func newSyncClient(en syncclient.Enrollment, store syncclient.Store) (*syncclient.Client, error) {
	cfg, err := en.Config()
	if err != nil {
		return nil, err
	}
	cfg.Store, cfg.Clock = store, lane.SystemClock{}
	return syncclient.New(cfg)
}

func runSyncStatus(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	dir, err := syncDataDir(e)
	if err != nil {
		return err
	}
	en, err := loadEnrollment(dir)
	if err != nil {
		return err
	}
	st := syncStatus{Server: en.ServerURL, Tenant: orDash(en.TenantName, en.Tenant), LaneID: en.LaneID, LaneName: en.LaneName,
		Location: en.Location, CertExpires: en.CertExpires}
	db, err := syncOpenStore(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := db.PendingChanges(ctx, 0)
	if err != nil {
		return err
	}
	conflicts, err := db.Conflicts(ctx, false)
	if err != nil {
		return err
	}
	st.Queued, st.Conflicts = len(pending), len(conflicts)
	if fs.Lookup("offline").Value.String() != "true" {
		c, err := newSyncClient(en, db)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		perr := c.Ping(pctx)
		cancel()
		online := perr == nil
		st.Online = &online
		if perr != nil {
			st.Error = syncclient.Describe(perr)
		}
	}
	if fs.Lookup("json").Value.String() == "true" {
		return dbPrintJSON(e, st)
	}
	fmt.Fprintf(e.Stdout, "server:       %s\n", st.Server)
	fmt.Fprintf(e.Stdout, "practice:     %s\n", st.Tenant)
	fmt.Fprintf(e.Stdout, "lane:         %s (%s), location %s\n", st.LaneName, st.LaneID, orDash(st.Location, "-"))
	left := time.Until(st.CertExpires).Round(24 * time.Hour)
	fmt.Fprintf(e.Stdout, "certificate:  valid until %s (%d days)\n", st.CertExpires.UTC().Format("2006-01-02"), int(left.Hours()/24))
	fmt.Fprintf(e.Stdout, "queued:       %d change(s) waiting for the server\n", st.Queued)
	fmt.Fprintf(e.Stdout, "conflicts:    %d waiting for a person to resolve\n", st.Conflicts)
	switch {
	case st.Online == nil:
	case *st.Online:
		fmt.Fprintln(e.Stdout, "server:       reachable, this lane accepted")
	default:
		fmt.Fprintf(e.Stdout, "server:       not reachable now: %s\n", st.Error)
	}
	return nil
}

func runSyncNow(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if len(args) != 0 {
		return usagef("takes no arguments")
	}
	timeout := fs.Lookup("timeout").Value.(flag.Getter).Get().(time.Duration)
	if timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	dir, err := syncDataDir(e)
	if err != nil {
		return err
	}
	en, err := loadEnrollment(dir)
	if err != nil {
		return err
	}
	db, err := syncOpenStore(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := newSyncClient(en, db)
	if err != nil {
		return err
	}
	before, _ := db.PendingChanges(ctx, 0)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = c.SyncNow(ctx)
	st := c.Status()
	delivered := len(before) - st.Queued
	if delivered < 0 {
		delivered = 0
	}
	fmt.Fprintf(e.Stdout, "sent %d change(s); %d still queued; %d conflict(s) open\n", delivered, st.Queued, st.Conflicts)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("sync did not finish within %s; the rest stays queued", timeout)
		}
		return fmt.Errorf("sync failed: %s", syncclient.Describe(err))
	}
	fmt.Fprintln(e.Stdout, "pulled today's schedule and charts")
	return nil
}
