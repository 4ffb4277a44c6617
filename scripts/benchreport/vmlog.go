package main

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// vmTest is one test (or subtest) of a `go test -v` log.
type vmTest struct {
	name   string
	pkg    string   // import path, from the package's ok/FAIL line
	result string   // PASS, FAIL or SKIP; "" if the log has no result line
	dur    string   // "1.23s"
	logs   []string // its t.Log messages, the skip reason of a SKIP
}

// vmRun is what a `go test -v` log of the VM limit tests says.
type vmRun struct {
	tests []*vmTest
	pkgs  []string // "ok <pkg> 12.3s", "FAIL <pkg> 4.5s"
	notes []string // the VM runner's own messages ("vmexec: ...")
}

// failed says whether a package or a test failed, or a test has no result.
func (r *vmRun) failed() bool {
	for _, p := range r.pkgs {
		if strings.HasPrefix(p, "FAIL") {
			return true
		}
	}
	for _, t := range r.tests {
		if t.result == "FAIL" || t.result == "" {
			return true
		}
	}
	return false
}

// parseVMLog reads a `go test -v` log and keeps the tests whose top-level
// name matches only (every test if only is nil).
func parseVMLog(r io.Reader, only *regexp.Regexp) (*vmRun, error) {
	run := &vmRun{}
	byName := map[string]*vmTest{}
	var cur *vmTest
	get := func(name string) *vmTest {
		t := byName[name]
		if t == nil {
			t = &vmTest{name: name}
			byName[name] = t
			run.tests = append(run.tests, t)
		}
		return t
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		f := strings.Fields(trimmed)
		switch {
		case strings.HasPrefix(line, "=== ") && len(f) >= 3:
			// === RUN, CONT, NAME, PAUSE: the output that follows is this test's.
			cur = get(f[2])
		case strings.HasPrefix(trimmed, "--- ") && len(f) >= 3 && strings.HasSuffix(f[1], ":"):
			t := get(f[2])
			t.result = strings.TrimSuffix(f[1], ":")
			if len(f) >= 4 {
				t.dur = strings.Trim(f[3], "()")
			}
			cur = t
		case (f != nil && (f[0] == "ok" || f[0] == "FAIL")) && len(f) >= 2 && strings.Contains(f[1], "/"):
			run.pkgs = append(run.pkgs, strings.Join(f, " "))
			for _, t := range run.tests {
				if t.pkg == "" {
					t.pkg = f[1]
				}
			}
			cur = nil
		case strings.HasPrefix(line, "vmexec: ") || strings.HasPrefix(line, "vm: "):
			run.notes = append(run.notes, line)
		default:
			if msg, ok := logText(line); ok && cur != nil {
				cur.logs = append(cur.logs, msg)
			}
		}
	}
	if only != nil {
		kept := run.tests[:0]
		for _, t := range run.tests {
			top, _, _ := strings.Cut(t.name, "/")
			if only.MatchString(top) {
				kept = append(kept, t)
			}
		}
		run.tests = kept
	}
	return run, sc.Err()
}
