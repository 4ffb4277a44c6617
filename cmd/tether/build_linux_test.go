//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// built holds the executables goBuild has built, by package directory:
// each is built once per test process, and kept in memory rather than on
// disk so that nothing is left behind however the process ends.
var built struct {
	sync.Mutex
	exe map[string][]byte
}

// goBuild builds the command in package directory pkg (relative to
// cmd/tether, the test's working directory) as `make build` does
// (CGO_ENABLED=0, -trimpath),
// without the race detector even when the test binary has it, once per
// test process, and returns a copy of it named name in a temporary
// directory of tb's (removed with it). The go command is the one on PATH
// or, failing that, the one `go test` runs from (its GOROOT is in the
// environment of the test binary); without either, tb is skipped.
func goBuild(tb testing.TB, pkg, name string) string {
	tb.Helper()
	built.Lock()
	defer built.Unlock()
	b, ok := built.exe[pkg]
	if !ok {
		gobin := goCommand(tb)
		dir, err := os.MkdirTemp("", "tether-build-")
		if err != nil {
			tb.Fatal(err)
		}
		exe := filepath.Join(dir, "exe")
		// As `make build` builds the release binary: static, with no C
		// (the dynamic loader and libc cost every start about 1 ms).
		cmd := exec.Command(gobin, "build", "-trimpath", "-o", exe, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err == nil {
			b, err = os.ReadFile(exe)
		}
		_ = os.RemoveAll(dir)
		if err != nil {
			tb.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
		if built.exe == nil {
			built.exe = map[string][]byte{}
		}
		built.exe[pkg] = b
	}
	exe := filepath.Join(testchild.TempDir(tb), name)
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		tb.Fatal(err)
	}
	return exe
}

// buildTether is cmd/tether built by goBuild.
func buildTether(tb testing.TB) string {
	tb.Helper()
	return goBuild(tb, ".", "tether")
}
