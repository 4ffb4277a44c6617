//go:build linux

package systemd

import (
	"context"
	"errors"
	"slices"

	"github.com/gotether/tether/internal/watchdog"
)

// ScopeInfo describes the process's scope, for the tests.
type ScopeInfo struct {
	Unit, Cgroup, Dir string
	Moved             bool
	WatchdogPid       int
	Enabled           []string
}

// CurrentScope returns the process's scope, if it has one.
func CurrentScope() (ScopeInfo, bool) {
	sc := shared.sc.Load()
	if sc == nil {
		return ScopeInfo{}, false
	}
	return ScopeInfo{Unit: sc.unit, Cgroup: sc.cgroup, Dir: sc.dir, Moved: sc.moved, WatchdogPid: sc.wdPid, Enabled: slices.Clone(sc.enabled)}, true
}

// LoadedUnits lists the loaded units of the process's own manager whose
// names match pattern (what `systemctl [--user] list-units PATTERN`
// shows).
func LoadedUnits(ctx context.Context, pattern string) ([]string, error) {
	conn, _, err := connect(ctx, ownManager())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	us, err := conn.ListUnitsByPatternsContext(ctx, nil, []string{pattern})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out, nil
}

// ScopeProperty reads a property of the scope unit (Unit interface
// properties such as Description, or Scope ones such as Delegate).
func ScopeProperty(ctx context.Context, unit, iface, name string) (any, error) {
	conn, _, err := connect(ctx, ownManager())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	p, err := conn.GetUnitTypePropertyContext(ctx, unit, iface, name)
	if err != nil {
		return nil, err
	}
	return p.Value.Value(), nil
}

// StopScope stops a scope of the process's own manager, as `systemctl
// stop` would (it kills every process in it), and waits for the job.
func StopScope(ctx context.Context, unit string) error {
	conn, _, err := connect(ctx, ownManager())
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, unit, "replace", done); err != nil {
		return err
	}
	select {
	case res := <-done:
		if res != "done" {
			return errors.New("stopping " + unit + ": job " + res)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WatchdogPid is the owner's watchdog now (0 when none runs).
func WatchdogPid() int { return watchdog.Pid() }
