//go:build unix

package proc_test

import (
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/proc"
)

// okRace reports whether err is an allowed answer of a call racing a
// run's end: none, or ErrClosed; never a mechanism's raw error, which may
// hold a path.
func okRace(err error) bool { return err == nil || errors.Is(err, proc.ErrClosed) }

// RunningProcess.Signal and Group.Processes racing the end of runs answer
// nil or ErrClosed, never a raw "no such file" naming a cgroup.
func TestSignalAndProcessesRacingTheRunsEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 12*patience)
		g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close(ctx)
		var mu sync.Mutex
		var bad []error
		note := func(err error) {
			if !okRace(err) {
				mu.Lock()
				bad = append(bad, err)
				mu.Unlock()
			}
		}
		for range 30 {
			p, err := g.Start(ctx, script("exit", "0"))
			if err != nil {
				t.Fatal(err)
			}
			q, err := script("exit", "0").Backend(b).Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						note(p.Signal(syscall.SIGCONT))
						note(q.Signal(syscall.SIGCONT))
						_, perr := g.Processes()
						note(perr)
						select {
						case <-p.Done():
							select {
							case <-q.Done():
								return
							default:
							}
						default:
						}
					}
				}()
			}
			wg.Wait()
		}
		for i, err := range bad {
			if i < 5 {
				t.Errorf("racing call answered %v", err)
			}
			if strings.Contains(err.Error(), string(os.PathSeparator)+"sys") {
				t.Errorf("error names a path: %v", err)
			}
		}
	})
}
