package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"
)

// command is one node of the examlane command tree. A leaf has Run; a group
// has Sub. Each subcommand lives in its own file and registers itself with
// register in an init function, so adding one never edits this file.
type command struct {
	// Path is the words that select the command, e.g. "rx verify".
	Path string
	// Summary is one line shown in the parent's help.
	Summary string
	// Usage is the synopsis after the path, e.g. "[--json] FILE...".
	Usage string
	// Help is the longer explanation shown by --help.
	Help string
	// Flags declares the command's flags on fs; it may be nil.
	Flags func(fs *flag.FlagSet)
	// Run executes the command with the flags parsed and the remaining
	// arguments. Returning a usageError exits 2 with a one-line message;
	// any other error exits 1.
	Run func(ctx context.Context, env *env, fs *flag.FlagSet, args []string) error
}

// env is what every command receives: standard streams and global options.
type env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	DataDir string // --data-dir, resolved to an absolute path or empty for the default
	Config  string // --config, the lane configuration file, or empty for the default
}

// usageError marks a bad invocation: unknown flag, missing or bad argument.
// main prints it on one line and exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

var commands = map[string]*command{}

// register adds c to the command tree. It panics on a duplicate path, an
// empty or badly spaced path, a path word that starts with '-', or a missing
// Run: programming errors caught by any test that runs the binary.
func register(c *command) {
	words := strings.Fields(c.Path)
	switch {
	case len(words) == 0 || strings.Join(words, " ") != c.Path:
		panic(fmt.Sprintf("examlane: bad command path %q: want words separated by single spaces", c.Path))
	case strings.HasPrefix(c.Path, "-") || strings.Contains(c.Path, " -"):
		panic(fmt.Sprintf("examlane: bad command path %q: a word starts with '-'", c.Path))
	case c.Run == nil:
		panic("examlane: command " + c.Path + " has no Run")
	}
	if _, dup := commands[c.Path]; dup {
		panic("examlane: duplicate command " + c.Path)
	}
	commands[c.Path] = c
}

// children returns the commands directly below path ("" for the root), sorted.
func children(path string) []string {
	depth := 0
	if path != "" {
		depth = len(strings.Fields(path))
	}
	seen := map[string]bool{}
	for p := range commands {
		w := strings.Fields(p)
		if len(w) <= depth || (path != "" && strings.Join(w[:depth], " ") != path) {
			continue
		}
		seen[strings.Join(w[:depth+1], " ")] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// resolve finds the longest registered command path that prefixes args and
// returns it with the remaining arguments. A group path (one with children
// but no command) is returned as a nil command with the group's path. Only
// the leading plain words of args can form a path: the first flag, empty
// argument or argument with spaces ends it, so `examlane "rx verify"` or
// `examlane --x rx` never select "rx verify" or "rx".
func resolve(args []string) (c *command, path string, rest []string) {
	words := 0
	for words < len(args) && isPathWord(args[words]) {
		words++
	}
	for n := words; n > 0; n-- {
		p := strings.Join(args[:n], " ")
		if cmd, ok := commands[p]; ok {
			return cmd, p, args[n:]
		}
		if len(children(p)) > 0 {
			return nil, p, args[n:]
		}
	}
	return nil, "", args
}

// isPathWord reports whether arg can be a word of a command path: not
// empty, not a flag and without white space.
func isPathWord(arg string) bool {
	return arg != "" && !strings.HasPrefix(arg, "-") && !strings.ContainsFunc(arg, unicode.IsSpace)
}

// printGroupHelp lists the subcommands under path.
func printGroupHelp(w io.Writer, path string) {
	name := commandName(path)
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\n", name)
	printCommandList(w, path)
	fmt.Fprintf(w, "\nRun '%s <command> --help' for details.\n", name)
}

// printCommandList prints the "Commands:" section listing the commands and
// groups directly below path, each with its summary.
func printCommandList(w io.Writer, path string) {
	fmt.Fprintf(w, "Commands:\n")
	kids := children(path)
	if len(kids) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	for _, p := range kids {
		sum := ""
		if c, ok := commands[p]; ok {
			sum = c.Summary
		} else {
			sum = "(" + strings.Join(lastWords(children(p)), ", ") + ")"
		}
		fmt.Fprintf(w, "  %-22s %s\n", lastWord(p), sum)
	}
}

// commandName returns how the command or group at path is invoked:
// "examlane rx" for "rx", "examlane" for the root.
func commandName(path string) string {
	if path == "" {
		return "examlane"
	}
	return "examlane " + path
}

// lastWord returns the last word of a command path: "verify" for "rx verify".
func lastWord(path string) string {
	return path[strings.LastIndex(path, " ")+1:]
}

// lastWords applies lastWord to every path.
func lastWords(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = lastWord(p)
	}
	return out
}

// dispatch runs the command selected by args and returns the process exit
// status: 0 success, 1 failure, 2 bad usage.
func dispatch(ctx context.Context, e *env, args []string) int {
	c, path, rest := resolve(args)
	if c == nil {
		if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
			printGroupHelp(e.Stdout, path)
			return 0
		}
		if len(rest) == 0 {
			printGroupHelp(e.Stderr, path)
			return 2
		}
		help := commandName(path) + " --help"
		if strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(e.Stderr, "%s: unknown flag %s (see '%s')\n", commandName(path), rest[0], help)
			return 2
		}
		fmt.Fprintf(e.Stderr, "examlane: unknown command %q (see '%s')\n", strings.TrimSpace(path+" "+rest[0]), help)
		return 2
	}
	fs := flag.NewFlagSet("examlane "+path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.Flags != nil {
		c.Flags(fs)
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(e.Stdout, c, fs)
			return 0
		}
		fmt.Fprintf(e.Stderr, "examlane %s: %v\n", path, err)
		return 2
	}
	err := c.Run(ctx, e, fs, fs.Args())
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.Stderr, "examlane %s: %s\n", path, ue.msg)
		return 2
	}
	fmt.Fprintf(e.Stderr, "examlane %s: %v\n", path, err)
	return 1
}

// printCommandHelp prints a leaf command's synopsis, help text and flags.
func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace(commandName(c.Path)+" "+c.Usage), c.Summary)
	if c.Help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Help))
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	// A command that is also a group (e.g. "demo" and "demo totp") lists
	// its subcommands too.
	if len(children(c.Path)) > 0 {
		fmt.Fprintln(w)
		printCommandList(w, c.Path)
	}
}

// stdEnv returns the environment of the running process.
func stdEnv() *env {
	return &env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}
