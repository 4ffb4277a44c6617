//go:build windows

package containtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// escapeRoles are the grandchildren of a tree child that try to leave
// their parent's group. A process cannot leave its job by itself; the
// nearest thing to setsid is a grandchild created detached from the
// console in a new process group.
var escapeRoles = []string{"detached"}

func escape(how string) error {
	if how != "detached" {
		return fmt.Errorf("unknown escape %q", how)
	}
	return nil // done at creation, by escapeAtStart
}

// escapeAtStart creates the "detached" grandchild with DETACHED_PROCESS
// and CREATE_NEW_PROCESS_GROUP.
func escapeAtStart(cmd *exec.Cmd, role string) {
	if role == "detached" {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP}
	}
}

// escaped: the detachment happened at creation, nothing to check later.
func escaped(string, int) (bool, error) { return true, nil }

// termSignal is the nearest Windows has to a graceful stop request; Job
// Objects cannot deliver it.
var termSignal os.Signal = os.Interrupt

// killedBy reports whether a child's Wait error says it was ended from
// outside. Windows has no signals: a terminated process only has the exit
// code its terminator chose, so any failure counts.
func killedBy(err error, _ os.Signal) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() != 0
}

// processGroups says whether the OS has process groups to check: Windows
// has console process groups, which cannot be queried.
const processGroups = false

func groupOf(int) (int, error) { return 0, errors.ErrUnsupported }
func ownGroup() int            { return 0 }

func sessionLeader() *syscall.SysProcAttr { return nil }

// conflictingAttrs are settings no backend can honour while keeping its
// child contained: they must fail Start before anything is spawned.
func conflictingAttrs() map[string]func() *syscall.SysProcAttr {
	return map[string]func() *syscall.SysProcAttr{
		"a suspended creation the caller means to keep": func() *syscall.SysProcAttr {
			return &syscall.SysProcAttr{CreationFlags: windows.CREATE_SUSPENDED}
		},
	}
}
