//go:build unix

package proc_test

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkDetached reports an error unless pid leads a session of its own.
func checkDetached(pid int) error {
	sid, err := unix.Getsid(pid)
	if err != nil {
		return err
	}
	if sid != pid {
		return fmt.Errorf("detached pid %d is in session %d, not its own", pid, sid)
	}
	return nil
}
