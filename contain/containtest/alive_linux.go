//go:build linux

package containtest

import (
	"bytes"
	"os"
	"strconv"
)

// alive reports whether pid is a live process. A zombie counts as dead:
// it runs nothing, and init may reap orphans late.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which may hold anything but
	// ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st != 'Z' && st != 'X'
}

// zombiesVisible says whether alive tells a zombie from a live process.
const zombiesVisible = true

// openDescriptors counts this process's open descriptors.
func openDescriptors() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	return len(ents), err
}
