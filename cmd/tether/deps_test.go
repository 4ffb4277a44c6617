//go:build !windows

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyDependencies are module paths no package of tether may link. They
// came with containerd's cgroup2 package, which the cgroupv2 backend used
// for three file writes: protobuf builds its descriptors at init and
// cilium/ebpf pulls in go/parser, which made `tether version` start in
// twice the time (docs/architecture.md, "Our own cgroup files"). The
// package stays a test dependency, the oracle of the limit tests.
var heavyDependencies = []string{
	"github.com/containerd/",
	"google.golang.org/protobuf",
	"github.com/cilium/ebpf",
	"github.com/sirupsen/logrus",
	"github.com/opencontainers/",
}

// goCommand returns the go command on PATH or, failing that, the one
// `go test` runs from (its GOROOT is in the environment of the test
// binary), or skips the test.
func goCommand(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err == nil {
		return gobin
	}
	gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); os.Getenv("GOROOT") == "" || err != nil {
		t.Skip("no go command on PATH or in $GOROOT/bin (the test builds or lists packages with it)")
	}
	return gobin
}

// TestNoHeavyDependencies: for every target system, no package of the
// module outside its tests (so neither cmd/tether nor a program using the
// library) links a package of heavyDependencies, as `go list -deps`
// reports the import graph. The graph does not depend on the host that
// lists it, so the test is built where the go command runs, not for
// Windows (under Wine, the go command found would be a Linux binary).
func TestNoHeavyDependencies(t *testing.T) {
	gobin := goCommand(t)
	for _, goos := range []string{"linux", "darwin", "freebsd", "windows"} {
		cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/gotether/tether/...")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("GOOS=%s go list -deps: %v\n%s", goos, err, stderr)
		}
		pkgs := strings.Fields(string(out))
		var bad []string
		for _, p := range pkgs {
			for _, heavy := range heavyDependencies {
				if strings.HasPrefix(p, heavy) {
					bad = append(bad, p)
				}
			}
		}
		if len(bad) > 0 {
			t.Errorf("GOOS=%s: the module's packages link %d packages of %v, which are for tests only: %v", goos, len(bad), heavyDependencies, bad)
			continue
		}
		t.Logf("GOOS=%s: the module's packages link %d packages, none of %v", goos, len(pkgs), heavyDependencies)
	}
}
