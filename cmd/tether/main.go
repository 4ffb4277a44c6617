// Command tether runs processes so that nothing they spawn outlives them,
// and reports which kernel mechanism holds the tree.
//
// Usage:
//
//	tether run [flags] -- PROGRAM [ARGS...]   run PROGRAM contained; exit with its status
//	tether doctor [--json]                    report the containment backends usable here
//	tether version                            print the version
//
// `tether run` passes stdin, stdout and stderr through and exits with
// PROGRAM's status, or as coreutils timeout does: 124 timed out, 125
// tether failed, 126 not executable, 127 not found, 128+N died of signal
// N (see `tether run --help` and docs/containment.md).
//
// `tether doctor` spawns nothing and changes nothing; it exits 0 when the
// default backend is usable and 1 when no backend is.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
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
  version                            print the version
`

// run is main without the process exit, for tests. Exit codes: 0 ok,
// 1 the command failed, 2 bad usage; `tether run` has its own (see
// runCommand).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
	case "doctor":
		return doctor(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tether", version())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tether: unknown command %q\n%s", args[0], usage)
	return 2
}

func doctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tether doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	r := host.Inspect()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "tether doctor:", err)
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
