// Package poll confirms what the kernel does not announce in time (a
// cgroup frozen or empty, a process group stopped or gone, a job with no
// process left) by looking again with a backoff: the one wait loop every
// backend uses to confirm what it asked for.
package poll

import (
	"context"
	"time"
)

// Until calls check at once and then again after first, doubling the wait
// up to limit, until check reports done or fails, or ctx ends. It returns
// check's error, or ctx's once ctx has ended (check is not called again
// then). A condition already true costs no timer.
func Until(ctx context.Context, first, limit time.Duration, check func() (done bool, err error)) error {
	var t *time.Timer
	for wait := first; ; wait = min(2*wait, limit) {
		done, err := check()
		if err != nil || done {
			return err
		}
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
