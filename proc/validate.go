package proc

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gotether/tether/contain"
)

// validate rejects a malformed command before anything is spawned.
func (c *Cmd) validate() error {
	switch {
	case c.fromNil:
		return &InvalidError{Reason: "a builder method was called on a nil *Cmd"}
	case c.name == "":
		return &InvalidError{Reason: "empty program name"}
	case strings.IndexByte(c.name, 0) >= 0:
		return &InvalidError{Reason: "NUL byte in the program name"}
	case c.timeout < 0:
		return &InvalidError{Program: c.name, Reason: "negative timeout"}
	case c.grace.set && c.grace.period < 0:
		return &InvalidError{Program: c.name, Reason: "negative grace period"}
	case c.grace.set && c.grace.sig == nil:
		return &InvalidError{Program: c.name, Reason: "grace without a signal"}
	case c.sys.foreground != nil && c.sys.setsid:
		return &InvalidError{Program: c.name, Reason: "Foreground with Setsid (a new session has no controlling terminal)"}
	case strings.IndexByte(c.dir, 0) >= 0:
		return &InvalidError{Program: c.name, Reason: "NUL byte in the working directory"}
	}
	for _, a := range c.args {
		if strings.IndexByte(a, 0) >= 0 {
			return &InvalidError{Program: c.name, Reason: "NUL byte in an argument"}
		}
	}
	for _, o := range []outSpec{c.stdout, c.stderr} {
		// A cap set explicitly is checked even where the stream is not
		// captured: Exec discards stdout, and must not run a command
		// that Output refuses.
		if (o.captures() || o.capSet) && (o.limit < 0 || o.policy < KeepHead || o.policy > CapFail) {
			return &InvalidError{Program: c.name, Reason: "invalid capture cap or policy"}
		}
		if o.mode == modeTee && o.w == nil {
			return &InvalidError{Program: c.name, Reason: "Tee with a nil writer"}
		}
	}
	if c.stdin.kind == stdinReader && c.stdin.reader == nil {
		return &InvalidError{Program: c.name, Reason: "nil stdin reader"}
	}
	if err := c.lines.validate(c.name); err != nil {
		return err
	}
	if err := contain.ValidateLimits(c.limits); err != nil {
		return err
	}
	if c.grace.set {
		if err := checkGrace(c.name, c.grace.sig); err != nil {
			return err
		}
	}
	return c.env.validate(c.name)
}

func unsupported(program, what, why string) error {
	return &contain.UnsupportedError{Mechanism: "proc", Op: program + ": " + what, Reason: why}
}

// lookPath resolves the program like exec.LookPath, with tether's errors:
// a missing program (on PATH or at an explicit path) is a *NotFoundError,
// an existing file that cannot be executed a *StartError matching
// fs.ErrPermission. A relative explicit path is checked in dir, where
// os/exec will run it.
func lookPath(name, dir string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		fi, err := os.Stat(inDir(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", &NotFoundError{Program: name, Err: fs.ErrNotExist}
		case err != nil:
			return "", &StartError{Program: name, Err: err}
		case fi.IsDir():
			return "", &StartError{Program: name, Err: fs.ErrPermission}
		}
		return name, nil
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if errors.Is(err, exec.ErrDot) {
		return "", &NotFoundError{Program: name, Searched: filepath.SplitList(os.Getenv("PATH")), Err: err}
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) {
		return "", &StartError{Program: name, Err: fs.ErrPermission}
	}
	return "", &NotFoundError{Program: name, Searched: filepath.SplitList(os.Getenv("PATH")), Err: exec.ErrNotFound}
}

// inDir is the file a relative program path names for a child running
// in dir (empty: the owner's working directory), as os/exec resolves it.
func inDir(dir, name string) string {
	if dir == "" || filepath.IsAbs(name) || filepath.VolumeName(name) != "" || os.IsPathSeparator(name[0]) {
		return name
	}
	return filepath.Join(dir, name)
}

// checkDir fails with a *DirError for a working directory that does not
// exist or is not a directory.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return &DirError{Dir: dir, Err: err}
	}
	if !fi.IsDir() {
		return &DirError{Dir: dir, Err: syscall.ENOTDIR}
	}
	return nil
}
