//go:build unix

package watchdog

import "os"

// tempTable makes the registration table as a temporary file, removed at
// once, so that only its descriptors (the owner's, close-on-exec, and the
// watchdog's) reach it. It needs a writable temporary directory (TMPDIR,
// else /tmp).
func tempTable() (*os.File, error) {
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
