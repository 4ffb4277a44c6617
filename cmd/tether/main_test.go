package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gotether/tether/contain/host"
)

func TestDoctorJSONMatchesTheHostReport(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"doctor", "--json"}, &out, &errb)
	var r host.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor --json printed invalid JSON: %v\n%s", err, out.String())
	}
	if want := host.Inspect(); r.Default != want.Default || len(r.Backends) != 4 {
		t.Fatalf("doctor says default %s with %d backends; host says %s", r.Default, len(r.Backends), want.Default)
	}
	if (code == 0) != r.DefaultUsable {
		t.Fatalf("exit %d with default usable = %v", code, r.DefaultUsable)
	}
}

func TestDoctorText(t *testing.T) {
	var out, errb bytes.Buffer
	run([]string{"doctor"}, &out, &errb)
	for _, want := range []string{"default backend:", "backends:", "cgroupv2", "systemd", "pgid", "jobobject", "owner dies:", "watchdog:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"doctor", "--bogus"}, {"doctor", "extra"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitTether || !strings.HasPrefix(errb.String(), "tether: ") && len(args) > 0 {
			t.Errorf("run(%q) = %d, stderr %q; want 125 and a message", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tether ") {
		t.Errorf("version: %d %q", code, out.String())
	}
}

// TestUnknownFlagParity: an unknown flag gets the same answer from every
// command: one "tether: CMD: unknown flag" line naming the flag, the hint
// where the flags are listed, nothing on stdout and exit 125, as `run`
// has always answered. doctor used to print the flag package's message
// and its whole flag list, and exit 2; version took any argument.
func TestUnknownFlagParity(t *testing.T) {
	for args, want := range map[string]string{
		"run --bogus":     `tether: run: unknown flag "--bogus" (see tether run --help)`,
		"doctor --bogus":  `tether: doctor: unknown flag "--bogus" (see tether doctor --help)`,
		"version --bogus": `tether: version: unknown flag "--bogus" (see tether version --help)`,
		"--bogus":         `tether: unknown flag "--bogus" (see tether --help)`,
		"doctor -bogus=x": `tether: doctor: unknown flag "-bogus" (see tether doctor --help)`,
	} {
		var out, errb bytes.Buffer
		code := run(strings.Fields(args), &out, &errb)
		releaseHeld()
		if code != exitTether || errb.String() != want+"\n" || out.Len() != 0 {
			t.Errorf("tether %s: exit %d, stderr %q, stdout %q; want 125 and %q", args, code, errb.String(), out.String(), want)
		}
	}
}

// TestVersionEverywhere: `tether version`, `tether --version` and
// `tether run --version` print the same line and exit 0; each command's
// --help goes to stdout and exits 0.
func TestVersionEverywhere(t *testing.T) {
	var want string
	for _, args := range [][]string{{"version"}, {"--version"}, {"run", "--version"}, {"run", "--timeout", "1s", "--version", "--", "prog"}} {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		releaseHeld()
		if want == "" {
			want = out.String()
		}
		if code != 0 || out.String() != want || !strings.HasPrefix(want, "tether ") || errb.Len() != 0 {
			t.Errorf("tether %q: exit %d, stdout %q, stderr %q; want 0 and %q", args, code, out.String(), errb.String(), want)
		}
	}
	for _, args := range [][]string{{"version", "--help"}, {"doctor", "-h"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "usage: tether "+args[0]) || errb.Len() != 0 {
			t.Errorf("tether %q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"version", "extra"}, &out, &errb); code != exitTether || errb.String() != "tether: version: takes no arguments (see tether version --help)\n" {
		t.Errorf("tether version extra: exit %d, stderr %q", code, errb.String())
	}
}
