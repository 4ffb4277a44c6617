//go:build unix

package watchdog

import (
	"errors"
	"fmt"
	"io/fs"
)

// plain turns a *fs.PathError into an error that names its path in its
// text and wraps only the errno. The paths a watchdog fails on
// (/proc/self/exe, the null device) are no secret, and callers that
// print only the errno of a path error to keep user paths out of their
// messages would otherwise drop everything this package says.
func plain(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
	}
	return err
}
