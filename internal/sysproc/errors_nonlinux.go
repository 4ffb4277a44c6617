//go:build !linux

package sysproc

import (
	"fmt"
	"os"
)

// errNoProcess wraps os.ErrNotExist, as the /proc reads do on Linux.
var errNoProcess = fmt.Errorf("sysproc: no such process: %w", os.ErrNotExist)
