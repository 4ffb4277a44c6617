//go:build !linux

package testchild

import "errors"

// openFds needs /proc/self/fd, which only Linux has.
func openFds() (map[string]string, []int, error) {
	return nil, nil, errors.New("listing open descriptors needs Linux's /proc/self/fd")
}
