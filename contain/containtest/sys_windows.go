//go:build windows

package containtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// escaped: the detachment happened at creation, nothing to check later.
func escaped(string, int) (bool, error) { return true, nil }

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
