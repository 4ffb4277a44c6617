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
