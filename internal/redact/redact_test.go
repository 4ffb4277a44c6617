package redact

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestCauseDropsPaths(t *testing.T) {
	for _, err := range []error{
		&fs.PathError{Op: "open", Path: "/secret/dir", Err: syscall.ENOENT},
		&os.LinkError{Op: "rename", Old: "/secret/a", New: "/secret/b", Err: syscall.EXDEV},
		&exec.Error{Name: "/secret/prog", Err: exec.ErrNotFound},
	} {
		if got := Cause(err); strings.Contains(got, "secret") {
			t.Errorf("Cause(%v) = %q", err, got)
		}
	}
	if got := Cause(errors.New("plain")); got != "plain" {
		t.Errorf("plain error: %q", got)
	}
}
