//go:build !linux && !windows

package testchild

// terminalOp: the terminal operations are Linux's (termios through
// TCGETS); elsewhere they are unknown ops.
func terminalOp(string, func() string) (handled bool, code int) { return false, 0 }
