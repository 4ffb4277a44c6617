package proc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// helpers are this package's own helper modes.
var helpers = map[string]testchild.Helper{helperGroupOwner: runGroupOwner}

// helperGroupOwner is an owner process for the group owner-death tests.
// Arguments: a mechanism, a directory for pid files, a number of runs and
// how to end: "block" (the test kills it), "exit" (os.Exit without
// closing anything) or "panic". It creates a group (owner death on, the
// default), starts the runs in it, each a child with a grandchild holding
// its stdout (and, under cgroupv2, one more that calls setsid), waits for
// their pid files, prints "ready" and ends as told.
const helperGroupOwner = "groupowner"

func runGroupOwner(args []string) int {
	if len(args) != 4 {
		return 2
	}
	var be contain.Backend
	for _, b := range backends() {
		if string(b.Mechanism()) == args[0] {
			be = b
		}
	}
	n, err := strconv.Atoi(args[2])
	if be == nil || err != nil {
		return 2
	}
	ctx := context.Background()
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: be})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	for i := range n {
		ops := []string{"hold"}
		if be.Mechanism() != contain.PGID {
			ops = append(ops, "holdsid")
		}
		ops = append(ops, "pids", filepath.Join(args[1], strconv.Itoa(i)), "block")
		if _, err := g.Start(ctx, script(ops...)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	}
	deadline := time.Now().Add(testchild.Patience)
	for i := 0; i < n; {
		if _, err := os.Stat(filepath.Join(args[1], strconv.Itoa(i))); err == nil {
			i++
			continue
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "pid files not written")
			return 3
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("ready")
	switch args[3] {
	case "exit":
		os.Exit(0)
	case "panic":
		panic("group owner panics on purpose")
	}
	select {} // the test kills us; the runs' goroutines keep the runtime alive
}

// Every member of every run of a group dies within 2 s when its owner
// dies abruptly, however it dies.
func TestGroupDiesWithItsOwner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		for _, end := range []string{"sigkill", "exit", "panic"} {
			t.Run(end, func(t *testing.T) {
				dir := testchild.TempDir(t)
				mode := end
				if end == "sigkill" {
					mode = "block"
				}
				h := testchild.StartHelper(t, helperGroupOwner, string(b.Mechanism()), dir, "3", mode)
				line, err := h.Out.ReadString('\n')
				if err != nil || strings.TrimSpace(line) != "ready" {
					h.Fail(t, "helper said %q, %v", line, err)
				}
				var pids []int
				for i := range 3 {
					tr := testchild.ReadPidFile(t, filepath.Join(dir, strconv.Itoa(i)), patience)
					pids = append(pids, tr.Pids()...)
				}
				t.Cleanup(func() { testchild.KillPids(pids...) })
				if end == "sigkill" {
					// SIGKILL; TerminateProcess on Windows.
					if err := h.Cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
				}
				_ = h.Wait()
				died := time.Now()
				testchild.WaitDead(t, 2*time.Second, pids...)
				t.Logf("%d members dead %v after the owner", len(pids), time.Since(died).Round(time.Millisecond))
			})
		}
	})
}
