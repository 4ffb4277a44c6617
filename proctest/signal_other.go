//go:build !windows

package proctest

// killSignal is how a Result names the kill that ends a timed-out,
// cancelled or killed run: the shell's name for SIGKILL.
const killSignal = "SIGKILL"
