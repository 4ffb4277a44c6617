// Package redact prints errors without the secrets they may carry, for
// tether's rule that error text and logs never show paths, argument or
// environment values.
package redact

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
)

// Cause prints an OS error without the path it carries: a path can name a
// secret directory or be an argument value. *fs.PathError and
// *os.LinkError print their operation and errno; *exec.Error its cause.
func Cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Op + ": " + le.Err.Error()
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err.Error()
	}
	return err.Error()
}
