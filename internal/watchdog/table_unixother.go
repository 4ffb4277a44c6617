//go:build unix && !linux

package watchdog

import "os"

// newTable makes the registration table: these systems have no memfd
// that every version offers, so a temporary file (see tempTable).
func newTable() (*os.File, error) { return tempTable() }
