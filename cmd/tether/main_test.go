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
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("run(%q) = %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tether ") {
		t.Errorf("version: %d %q", code, out.String())
	}
}
