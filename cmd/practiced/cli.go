package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/examlane/examlane/cmd/practiced/server"
	"github.com/examlane/examlane/lane"
)

// command is one practiced subcommand.
type command struct {
	path    string // "init", "lane revoke", ...
	summary string
	usage   string // flags synopsis
	flags   func(fs *flag.FlagSet, o *opts)
	run     func(ctx context.Context, c *cli, o *opts, args []string) error
}

// opts holds every flag any command declares.
type opts struct {
	data, tenant, name, location, laneName, laneID, addr, login, id string
	hosts, roles, locations                                         list
	demo, passwordStdin                                             bool
	patients, appointments, images                                  int
	seed                                                            uint64
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// usageError is bad usage: main prints it and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cli is what commands read from and write to.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func dataFlag(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.data, "data", os.Getenv("PRACTICED_DATA"), "data `directory` (default $PRACTICED_DATA)")
}

func tenantFlag(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.tenant, "tenant", "", "practice (tenant) `id`")
}

var commands = []*command{
	{
		path: "init", summary: "create a data directory: practice CA, server certificate, database, first practice",
		usage: "--data DIR --tenant ID --name NAME [--location NAME] [--host NAME]...",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.name, "name", "", "practice display `name`")
			fs.StringVar(&o.location, "location", "", "name of the practice's first Location (default Main)")
			fs.Var(&o.hosts, "host", "extra DNS `name` or IP for the server certificate (repeatable)")
		},
		run: func(ctx context.Context, c *cli, o *opts, _ []string) error {
			if err := need(o.data, "--data", o.tenant, "--tenant", o.name, "--name"); err != nil {
				return err
			}
			if err := server.Init(ctx, o.data, server.InitOptions{Tenant: o.tenant, Name: o.name, LocationName: o.location, Hosts: o.hosts}); err != nil {
				return err
			}
			s, err := server.Open(o.data)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(c.stdout, "initialised %s for practice %s (%s)\nCA SPKI pin sha256: %s\n", o.data, o.tenant, o.name, s.CAPin())
			return nil
		},
	},
	{
		path: "serve", summary: "serve FHIR R4 and DICOMweb over mutual TLS until interrupted",
		usage: "--data DIR [--addr HOST:PORT]",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			fs.StringVar(&o.addr, "addr", "127.0.0.1:8443", "listen `address`")
		},
		run: func(ctx context.Context, c *cli, o *opts, _ []string) error {
			if err := need(o.data, "--data"); err != nil {
				return err
			}
			s, err := server.Open(o.data, server.WithLogger(slog.New(slog.NewTextHandler(c.stderr, nil))))
			if err != nil {
				return err
			}
			defer s.Close()
			ln, err := net.Listen("tcp", o.addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "practiced: serving https://%s (CA SPKI pin sha256:%s)\n", ln.Addr(), s.CAPin())
			return s.ServeTLS(ctx, ln)
		},
	},
	{
		path: "enroll-code", summary: "print a one-time enrolment code for a lane (valid 15 minutes)",
		usage: "--data DIR --tenant T --location L --lane NAME",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.location, "location", "", "Location `id or name` the lane works at")
			fs.StringVar(&o.laneName, "lane", "", "lane `name` shown to staff, e.g. \"Lane 2\"")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.location, "--location", o.laneName, "--lane"); err != nil {
				return err
			}
			code, exp, err := s.EnrollCode(ctx, o.tenant, o.location, o.laneName)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, code)
			fmt.Fprintf(c.stderr, "valid until %s, once; on the lane: examlane enroll --server https://<host>:<port> --code %s\n", exp.Format("15:04:05"), code)
			return nil
		}),
	},
	{
		path: "seed", summary: "fill a practice with a synthetic demo practice (--demo)",
		usage: "--demo --data DIR --tenant T [--patients N] [--appointments N] [--images N] [--seed N]",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.BoolVar(&o.demo, "demo", false, "seed the synthetic demo practice (required)")
			fs.IntVar(&o.patients, "patients", 200, "synthetic `count` of patients")
			fs.IntVar(&o.appointments, "appointments", 60, "`count` of today's appointments")
			fs.IntVar(&o.images, "images", 30, "`count` of patients with a fundus pair")
			fs.Uint64Var(&o.seed, "seed", 1, "random `seed` for reproducible values")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if !o.demo {
				return usagef("seed: only --demo is supported; pass it to confirm")
			}
			if err := need(o.tenant, "--tenant"); err != nil {
				return err
			}
			if o.patients < 1 || o.appointments < 1 || o.images < 1 {
				return usagef("seed: counts must be at least 1")
			}
			start := time.Now()
			rep, err := s.Seed(ctx, o.tenant, server.SeedOptions{Patients: o.patients, Appointments: o.appointments, ImagePatients: o.images, RandSeed: o.seed})
			if err != nil {
				return err
			}
			var roles []string
			for _, r := range lane.Roles {
				roles = append(roles, fmt.Sprintf("%s %d", r, rep.Staff[r]))
			}
			fmt.Fprintf(c.stdout, "seeded %s in %v (synthetic data, MRNs DEMO-…)\n", o.tenant, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(c.stdout, "  locations %d, lanes %s\n  staff: %s\n", rep.Locations, strings.Join(rep.Lanes, ", "), strings.Join(roles, ", "))
			fmt.Fprintf(c.stdout, "  patients %d, encounters %d, observations %d, prescriptions %d\n", rep.Patients, rep.Encounters, rep.Observations, rep.Prescriptions)
			fmt.Fprintf(c.stdout, "  today's appointments %d\n  images: %d DICOM OP instances (ImagingStudy), %d JPEG photos (DocumentReference)\n", rep.Appointments, rep.DICOMInstances, rep.Photos)
			accts, err := s.SeedDemoAccounts(ctx, o.tenant)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "  sign-in: %d demo accounts, password %q, codes from 'examlane demo totp LOGIN' (secrets in %s)\n",
				len(accts.Accounts), server.DemoPassword, filepath.Join(o.data, server.DemoAccountsFile))
			return nil
		}),
	},
	{
		path: "tenant add", summary: "add a practice (tenant) with one Location",
		usage: "--data DIR --tenant ID --name NAME [--location NAME]",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.name, "name", "", "practice display `name`")
			fs.StringVar(&o.location, "location", "", "name of the practice's first Location (default Main)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.name, "--name"); err != nil {
				return err
			}
			loc, err := s.AddTenant(ctx, o.tenant, o.name, o.location)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added practice %s (%s), Location/%s\n", o.tenant, o.name, loc)
			return nil
		}),
	},
	{
		path: "tenant list", summary: "list the practices", usage: "--data DIR",
		flags: func(fs *flag.FlagSet, o *opts) { dataFlag(fs, o) },
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			ts, err := s.Tenants(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tNAME\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Name, t.Created.Format("2006-01-02"))
			}
			return tw.Flush()
		}),
	},
	{
		path: "lane list", summary: "list enrolled lanes", usage: "--data DIR [--tenant T]",
		flags: func(fs *flag.FlagSet, o *opts) { dataFlag(fs, o); tenantFlag(fs, o) },
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			ls, err := s.Lanes(ctx, o.tenant)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LANE ID\tTENANT\tNAME\tLOCATION\tISSUED\tEXPIRES\tSTATUS")
			for _, l := range ls {
				st := "active"
				if !l.Revoked.IsZero() {
					st = "revoked " + l.Revoked.Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Tenant, l.Name, l.Location, l.Issued.Format("2006-01-02"), l.NotAfter.Format("2006-01-02"), st)
			}
			return tw.Flush()
		}),
	},
	{
		path: "lane revoke", summary: "revoke a lane's certificate (its next request gets 401)", usage: "--data DIR --lane ID",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			fs.StringVar(&o.laneID, "lane", "", "lane `id` (see lane list)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.laneID, "--lane"); err != nil {
				return err
			}
			if err := s.RevokeLane(ctx, o.laneID); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "revoked lane %s\n", o.laneID)
			return nil
		}),
	},
	{
		path: "user add", summary: "add a staff account (Practitioner + PractitionerRole per role)",
		usage: "--data DIR --tenant T --name NAME --role ROLE... [--location L]... [--login NAME] [--id ID]",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.name, "name", "", "display `name`, e.g. \"Sam Lee\"")
			fs.Var(&o.roles, "role", "`role`: "+rolesText()+" (repeatable)")
			fs.Var(&o.locations, "location", "Location `id or name` (repeatable)")
			fs.StringVar(&o.login, "login", "", "sign-in `name`; with it the account gets a password and a TOTP secret")
			fs.StringVar(&o.id, "id", "", "user `id` (default: a new one)")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input (default: print a temporary one)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.name, "--name"); err != nil {
				return err
			}
			if len(o.roles) == 0 {
				return usagef("user add: at least one --role (%s)", rolesText())
			}
			u := server.User{Tenant: o.tenant, ID: o.id, Login: o.login, Name: o.name, Locations: o.locations}
			for _, r := range o.roles {
				role, err := lane.ParseRole(r)
				if err != nil {
					return usagef("user add: %v", err)
				}
				u.Roles = append(u.Roles, role)
			}
			if o.passwordStdin && o.login == "" {
				return usagef("user add: --password-stdin needs --login")
			}
			var password string
			if o.passwordStdin {
				var err error
				if password, err = readPassword(c.stdin); err != nil {
					return err
				}
			}
			u, err := s.AddUser(ctx, u)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added user %s (%s)\n", u.ID, u.Name)
			if u.Login == "" {
				fmt.Fprintln(c.stdout, "no --login: this account cannot sign in until it has one")
				return nil
			}
			cr, err := s.SetCredentials(ctx, u.Tenant, u.ID, password)
			if err != nil {
				return fmt.Errorf("%w (the account was added without credentials: run practiced user reset --tenant %s --id %s)", err, u.Tenant, u.ID)
			}
			return printCredentials(c, cr)
		}),
	},
	{
		path: "user reset", summary: "give a staff account a new password and a new TOTP secret, and unlock it",
		usage: "--data DIR --tenant T --id ID [--password-stdin]",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.id, "id", "", "user `id` (see user list)")
			fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input (default: print a temporary one)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.id, "--id"); err != nil {
				return err
			}
			var password string
			if o.passwordStdin {
				var err error
				if password, err = readPassword(c.stdin); err != nil {
					return err
				}
			}
			cr, err := s.SetCredentials(ctx, o.tenant, o.id, password)
			if err != nil {
				return err
			}
			return printCredentials(c, cr)
		}),
	},
	{
		path: "user unlock", summary: "clear a staff account's failed sign-ins (lockout) without changing its credentials",
		usage: "--data DIR --tenant T --id ID",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.id, "id", "", "user `id` (see user list)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.id, "--id"); err != nil {
				return err
			}
			if err := s.UnlockUser(ctx, o.tenant, o.id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "unlocked user %s on the server (a lane that locked the account unlocks at the next online sign-in)\n", o.id)
			return nil
		}),
	},
	{
		path: "user list", summary: "list staff accounts", usage: "--data DIR --tenant T",
		flags: func(fs *flag.FlagSet, o *opts) { dataFlag(fs, o); tenantFlag(fs, o) },
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant"); err != nil {
				return err
			}
			us, err := s.Users(ctx, o.tenant)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER ID\tNAME\tLOGIN\tROLES\tSTATUS")
			for _, u := range us {
				var roles []string
				for _, r := range u.Roles {
					roles = append(roles, string(r))
				}
				st := "active"
				if u.Disabled {
					st = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Login, strings.Join(roles, ","), st)
			}
			return tw.Flush()
		}),
	},
	{
		path: "user disable", summary: "disable a staff account", usage: "--data DIR --tenant T --id ID",
		flags: func(fs *flag.FlagSet, o *opts) {
			dataFlag(fs, o)
			tenantFlag(fs, o)
			fs.StringVar(&o.id, "id", "", "user `id` (see user list)")
		},
		run: withServer(func(ctx context.Context, c *cli, s *server.Server, o *opts, _ []string) error {
			if err := need(o.tenant, "--tenant", o.id, "--id"); err != nil {
				return err
			}
			if err := s.DisableUser(ctx, o.tenant, o.id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "disabled user %s\n", o.id)
			return nil
		}),
	},
}

// rolesText lists the lane roles.
func rolesText() string {
	var rs []string
	for _, r := range lane.Roles {
		rs = append(rs, string(r))
	}
	return strings.Join(rs, ", ")
}

// need returns a usage error naming the first empty required flag; its
// arguments are value, flag name pairs.
func need(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i]) == "" {
			return usagef("missing %s", pairs[i+1])
		}
	}
	return nil
}

// withServer opens the data directory around a command.
func withServer(fn func(ctx context.Context, c *cli, s *server.Server, o *opts, args []string) error) func(context.Context, *cli, *opts, []string) error {
	return func(ctx context.Context, c *cli, o *opts, args []string) error {
		if err := need(o.data, "--data"); err != nil {
			return err
		}
		s, err := server.Open(o.data)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(ctx, c, s, o, args)
	}
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, os.Stdin, stdout, stderr)
}

// runIO is run with standard input (for --password-stdin).
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := find(args)
	if cmd == nil {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			topUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "practiced: unknown command %q\n", strings.Join(args[:min(len(args), 2)], " "))
		topUsage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("practiced "+cmd.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o opts
	cmd.flags(fs, &o)
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: practiced %s %s\n\n%s.\n\nflags:\n", cmd.path, cmd.usage, cmd.summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "practiced %s: %v\n", cmd.path, err)
		printUsage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "practiced %s: unexpected argument %q\n", cmd.path, fs.Arg(0))
		return 2
	}
	err := cmd.run(ctx, c, &o, fs.Args())
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "practiced %s: %s (see practiced %s --help)\n", cmd.path, ue.msg, cmd.path)
		return 2
	case errors.Is(err, context.Canceled):
		return 0
	}
	fmt.Fprintf(stderr, "practiced %s: %v\n", cmd.path, err)
	return 1
}

// find returns the command named by the first one or two words of args.
func find(args []string) (*command, []string) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		p := strings.Join(args[:n], " ")
		for _, c := range commands {
			if c.path == p {
				return c, args[n:]
			}
		}
	}
	return nil, nil
}

// topUsage lists the commands.
func topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: practiced COMMAND [flags]   (practiced COMMAND --help for details)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.path, c.summary)
	}
	tw.Flush()
}
