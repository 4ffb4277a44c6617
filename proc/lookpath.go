package proc

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// lookPath resolves the program like exec.LookPath, with tether's errors:
// a missing program (on PATH or at an explicit path) is a *NotFoundError,
// an existing file that cannot be executed a *StartError matching
// fs.ErrPermission. A relative explicit path is checked in dir, where
// os/exec will run it.
//
// A bare name is looked up in the PATH the child gets: env's PATH when
// the Cmd gives the child an environment of its own (env non-nil) that
// sets one, else the owner's, as Python's subprocess does and os/exec
// does not. So SetEnv("PATH", ...) changes where the program is found,
// for every verb. A relative directory in that PATH (".", or empty) is
// never searched, as exec.LookPath refuses such a result (exec.ErrDot).
func lookPath(name, dir string, env []string) (string, error) {
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
	if childPath, ok := pathOf(env); ok && childPath != os.Getenv("PATH") {
		return lookPathIn(name, childPath)
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

// pathOf returns the PATH an environment sets, if it sets one (the last
// entry wins, as in the environment a child gets).
func pathOf(env []string) (string, bool) {
	value, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && envKeyEqual(k, "PATH") {
			value, found = v, true
		}
	}
	return value, found
}

// lookPathIn looks name up in the directories of pathList, in order,
// each candidate checked as exec.LookPath checks a path (on Windows with
// PATHEXT's extensions). The first executable wins; a candidate that
// exists but cannot be executed makes the error a permission one if no
// later directory has the program.
func lookPathIn(name, pathList string) (string, error) {
	dirs := filepath.SplitList(pathList)
	denied := false
	for _, d := range dirs {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p, err := exec.LookPath(filepath.Join(d, name))
		if err == nil {
			return p, nil
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) {
			denied = true
		}
	}
	if denied {
		return "", &StartError{Program: name, Err: fs.ErrPermission}
	}
	return "", &NotFoundError{Program: name, Searched: dirs, Err: exec.ErrNotFound}
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
