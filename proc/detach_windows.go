//go:build windows

package proc

import (
	"errors"
	"os/exec"

	"golang.org/x/sys/windows"
)

// startDetached starts cmd without a console, in a process group of its
// own, breaking away from the owner's Job Object where the job allows it;
// where it does not (CreateProcess fails with access denied), the process
// stays in that outer job, as the doc of Detach says.
func startDetached(cmd *exec.Cmd) error {
	base := cmd.SysProcAttr.CreationFlags | windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP
	cmd.SysProcAttr.CreationFlags = base | windows.CREATE_BREAKAWAY_FROM_JOB
	err := cmd.Start()
	if err == nil || !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return err
	}
	// An exec.Cmd is started at most once, even after a failed Start:
	// the second try needs a fresh one with the same fields.
	cmd.SysProcAttr.CreationFlags = base
	*cmd = exec.Cmd{Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr, SysProcAttr: cmd.SysProcAttr}
	return cmd.Start()
}
