// Command tether runs processes so that nothing they spawn outlives them,
// and reports which kernel mechanism holds the tree.
//
// Usage:
//
//	tether run [flags] -- PROGRAM [ARGS...]   run PROGRAM contained; exit with its status
//	tether doctor [--json]                    report the containment backends usable here
//	tether version                            print the version (also tether --version)
//
// `tether run` passes stdin, stdout and stderr through and exits with
// PROGRAM's status, or as coreutils timeout does: 124 timed out, 125
// tether failed, 126 not executable, 127 not found, 128+N died of signal
// N (see `tether run --help` and docs/containment.md).
//
// `tether doctor` spawns nothing and changes nothing; it exits 0 when the
// default backend is usable and 1 when no backend is. A bad command line
// exits 125 with one "tether: " line on stderr, for every command.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gotether/tether/contain/host"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: tether <command> [flags]

commands:
  run [flags] -- PROGRAM [ARGS...]   run PROGRAM contained and exit with its status
                                     (tether run --help for the flags)
  doctor [--json]                    report the containment backends usable on this host
  version                            print the version (also tether --version)

A bad command line (an unknown command or flag, a bad value) exits 125
with one line on stderr, for every command.
`

const doctorUsage = `usage: tether doctor [--json]

Reports the containment backends usable on this host, which one tether
uses by default and why. It spawns nothing and changes nothing.

flags:
  --json   print the report as JSON

exit status: 0 the default backend is usable; 1 no backend is; 125 a bad
command line.
`

const versionUsage = `usage: tether version

Prints "tether" and the version (with the VCS revision when built from a
checkout); tether --version and tether run --version print the same.
`

// exitUsage is the exit status of a bad command line, for every command:
// `tether run`'s (coreutils timeout's 125), so that a script tells a
// command line tether refused from PROGRAM's own statuses the same way
// whichever command it ran.
const exitUsage = exitTether

// run is main without the process exit, for tests. Exit codes: 0 ok,
// 1 the command failed, 125 a bad command line; `tether run` has its own
// (see runCommand).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
	case "doctor":
		return doctor(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return versionCommand(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if strings.HasPrefix(args[0], "-") {
		return badUsage(stderr, unknownFlag("", args[0]))
	}
	return badUsage(stderr, usageError("unknown command "+strconv.Quote(args[0])+" (see tether --help)"))
}

// badUsage writes a bad command line's one diagnostic line, shaped as
// `tether run` shapes its own, and returns exitUsage.
func badUsage(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "tether: "+err.Error())
	return exitUsage
}

// helpOnly is the options of a command whose only flags are --help and
// -h, and the flags of doctor, which adds --json.
type helpOnly struct{ help, json bool }

var helpFlags = map[string]cliFlag[helpOnly]{
	"help": {boolean: true, set: func(o *helpOnly, _ string) error { o.help = true; return nil }},
	"h":    {boolean: true, set: func(o *helpOnly, _ string) error { o.help = true; return nil }},
}

var doctorFlags = map[string]cliFlag[helpOnly]{
	"json": {boolean: true, set: setBool(func(o *helpOnly) *bool { return &o.json })},
	"help": helpFlags["help"],
	"h":    helpFlags["h"],
}

// parseNoArgs parses the flags of cmd, a command that takes no
// arguments besides them. It returns the options, or the exit status
// when the command is done (help printed, or a bad command line).
func parseNoArgs(cmd string, flags map[string]cliFlag[helpOnly], help string, args []string, stdout, stderr io.Writer) (helpOnly, int, bool) {
	var o helpOnly
	i, err := parseFlags(cmd, flags, &o, args, func(o *helpOnly) bool { return o.help })
	switch {
	case err != nil:
		return o, badUsage(stderr, err), true
	case o.help:
		fmt.Fprint(stdout, help)
		return o, 0, true
	case i < len(args):
		// Not the argument itself: it may be anything.
		return o, badUsage(stderr, usageError(cmd+": takes no arguments (see "+helpFor(cmd)+")")), true
	}
	return o, 0, false
}

// versionCommand is `tether version` (and `tether --version`).
func versionCommand(args []string, stdout, stderr io.Writer) int {
	if _, status, done := parseNoArgs("version", helpFlags, versionUsage, args, stdout, stderr); done {
		return status
	}
	printVersion(stdout)
	return 0
}

// printVersion writes the line `tether version` prints.
func printVersion(w io.Writer) { fmt.Fprintln(w, "tether", version()) }

func doctor(args []string, stdout, stderr io.Writer) int {
	o, status, done := parseNoArgs("doctor", doctorFlags, doctorUsage, args, stdout, stderr)
	if done {
		return status
	}
	r := host.Inspect()
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "tether: doctor:", err)
			return 1
		}
	} else {
		printReport(stdout, r)
	}
	if !r.DefaultUsable {
		return 1
	}
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printReport(w io.Writer, r host.Report) {
	fmt.Fprintf(w, "host:               %s/%s, %s\n", r.OS, r.Arch, r.Kernel)
	fmt.Fprintf(w, "default backend:    %s\n", r.Default)
	fmt.Fprintf(w, "  why:              %s\n", r.DefaultReason)
	fmt.Fprintf(w, "limits enforceable: %s\n", yesNo(r.LimitsEnforceable))
	fmt.Fprintf(w, "setsid contained:   %s\n", yesNo(r.SetsidContained))
	fmt.Fprintf(w, "owner dies:         %s\n", r.OwnerDeath)
	fmt.Fprintf(w, "watchdog:           %s\n", r.Watchdog)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "backends:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range r.Backends {
		usable := "unusable"
		if a.Usable {
			usable = "usable"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Mechanism, usable, a.Reason)
		if !a.Usable {
			continue
		}
		var lim []string
		for _, l := range a.Limits {
			if l.Supported {
				lim = append(lim, string(l.Kind)+" yes")
			} else {
				lim = append(lim, string(l.Kind)+" no ("+l.Reason+")")
			}
		}
		fmt.Fprintf(tw, "  \t\tlimits: %s\n", strings.Join(lim, "; "))
		fmt.Fprintf(tw, "  \t\tsetsid contained: %s\n", yesNo(a.ContainsSetsid))
		fmt.Fprintf(tw, "  \t\towner dies: %s\n", a.OwnerDeath)
		for _, n := range a.Notes {
			fmt.Fprintf(tw, "  \t\tnote: %s\n", n)
		}
	}
	tw.Flush()
}

// version is the module version stamped by `go install`, with the VCS
// revision when built from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
