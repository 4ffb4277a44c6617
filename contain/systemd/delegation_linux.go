//go:build linux

package systemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gotether/tether/internal/sysproc"
	"golang.org/x/sys/unix"
)

// cgroupRoot is where a systemd host mounts the unified cgroup v2
// hierarchy; a unit's ControlGroup is a path below it.
const cgroupRoot = "/sys/fs/cgroup"

// Booted reports whether systemd is this host's service manager (PID 1):
// /run/systemd/system exists, which systemd creates early at boot. It is
// the test sd_booted(3) makes; inside a container on a systemd host it is
// normally absent.
func Booted() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// OwnDelegation reports whether systemd delegated the calling process's
// own cgroup to it. It first reads the extended attributes systemd 251
// and later set on a delegated cgroup (trusted.delegate, readable by
// root; user.delegate, from systemd 252, readable by the cgroup's owner);
// when neither says so, it asks the process's manager (the system's for
// root, the user's own otherwise) over D-Bus which unit holds the process
// and whether that unit has Delegate=yes: a user manager's delegated
// scope carries no attribute its user can read (measured on systemd
// 252). A cgroup nested inside a delegated unit's counts as delegated: it
// was made by the delegate. It creates nothing, and off a systemd host it
// reports the cgroup not delegated, saying why.
func OwnDelegation(ctx context.Context) Delegation {
	own, err := ownCgroup()
	d := Delegation{Cgroup: own}
	if err != nil {
		d.Reason = err.Error()
		return d
	}
	if !Booted() {
		d.Reason = "systemd is not PID 1 (/run/systemd/system is absent), so nothing is delegated"
		return d
	}
	dir := filepath.Join(cgroupRoot, own)
	for _, name := range []string{"trusted.delegate", "user.delegate"} {
		if xattrIs(dir, name, "1") {
			d.Delegated = true
			d.Reason = fmt.Sprintf("systemd marked %s delegated (extended attribute %s=1)", dir, name)
			return d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	m := ownManager()
	conn, _, err := connect(ctx, m)
	if err != nil {
		// connect's error lists every address tried; the systemd
		// backend's Availability gives it in full.
		d.Reason = fmt.Sprintf("%s carries no delegation mark, and %s does not answer to say whether its unit is delegated", dir, m)
		return d
	}
	defer conn.Close()
	unit, err := conn.GetUnitNameByPID(ctx, uint32(os.Getpid()))
	if err != nil {
		d.Reason = fmt.Sprintf("%s carries no delegation mark, and no unit of %s holds this process (%v): it runs in a cgroup systemd manages", dir, m, err)
		return d
	}
	p, err := conn.GetUnitTypePropertyContext(ctx, unit, unitType(unit), "Delegate")
	if err != nil {
		d.Reason = fmt.Sprintf("cannot read Delegate= of %s from %s: %v", unit, m, err)
		return d
	}
	if on, _ := p.Value.Value().(bool); on {
		d.Delegated = true
		d.Reason = fmt.Sprintf("%s, which holds this process, has Delegate=yes (asked %s)", unit, m)
		return d
	}
	d.Reason = fmt.Sprintf("%s, which holds this process, is managed by systemd and not delegated (Delegate=no)", unit)
	return d
}

// xattrIs reports whether the extended attribute name of path has the
// value want. Any error (absent, not permitted) is a no.
func xattrIs(path, name, want string) bool {
	buf := make([]byte, 16)
	n, err := unix.Getxattr(path, name, buf)
	return err == nil && string(buf[:n]) == want
}

// ownCgroup reads the calling process's cgroup v2 path.
func ownCgroup() (string, error) { return sysproc.CgroupV2Of(0) }
