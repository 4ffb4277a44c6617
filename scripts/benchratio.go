//go:build ignore

// Benchratio reads `go test -bench` output on stdin and prints, for every
// benchmark that has a "raw-os-exec" sub-benchmark, the ratio of each
// other sub-benchmark (a tether backend) to it, with issue 3's targets:
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench . -count=1 ./...; done | go run scripts/benchratio.go
//
// It is a front for scripts/benchreport, which computes the table (and
// writes the report of `make bench`); its arguments are passed on, so
// `go run scripts/benchratio.go -md FILE` writes the report's section too.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	args := append([]string{"run", "github.com/gotether/tether/scripts/benchreport"}, os.Args[1:]...)
	cmd := exec.Command("go", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}
