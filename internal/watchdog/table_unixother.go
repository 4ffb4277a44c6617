//go:build unix && !linux

package watchdog

import "os"

// newTable makes the registration table: a temporary file, removed at
// once, so that only its descriptors (the owner's, close-on-exec, and
// the watchdog's) reach it.
func newTable() (*os.File, error) {
	f, err := os.CreateTemp("", "tether-watchdog-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
