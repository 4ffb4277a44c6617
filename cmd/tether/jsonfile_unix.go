//go:build unix

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/redact"
)

// jsonRefusal is a --json path tether will not write to, found before
// anything is spawned. Its text names what the path is, never the path.
type jsonRefusal string

func (e jsonRefusal) Error() string { return string(e) }

// descriptorPath returns the descriptor a --json path names without
// naming a file: /dev/stdout (1), /dev/stderr (2), /dev/fd/N and
// /proc/self/fd/N (N), as shells' process substitution and users write
// them. ok is false for any other path.
func descriptorPath(path string) (fd int, ok bool) {
	p := filepath.Clean(path)
	switch p {
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if num, found := strings.CutPrefix(p, dir); found {
			n, err := strconv.Atoi(num)
			if err == nil && n >= 0 && strconv.Itoa(n) == num {
				return n, true
			}
		}
	}
	return 0, false
}

// openJSON opens the --json file before the run, so that a path that
// cannot or must not be written fails with 125 before anything is
// spawned. What it does with each kind of path:
//
//   - /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: the report is
//     written to tether's own descriptor 1, 2 or N, which must be open for
//     writing; nothing is opened, followed or truncated (the shell opened
//     it). These names are symbolic links to /proc/self/fd/N on Linux, and
//     opening that link would reopen the file, truncating it under the
//     program's output or failing for a pipe or socket.
//   - a symbolic link (the last component) is refused: following it
//     would truncate whatever it points to (a link planted in a shared
//     directory could aim it at any file the user can write). O_NOFOLLOW
//     makes the open itself refuse it, so a link that appears after any
//     check is refused too.
//   - a directory, a socket, a block device and a character device other
//     than the null device are refused.
//   - a FIFO is accepted only if a process has it open for reading: the
//     open is non-blocking (O_NONBLOCK) and fails with ENXIO otherwise,
//     instead of blocking tether before the spawn. The report is then
//     written to it at the end, blocking as a pipe write does.
//   - an existing regular file is truncated (after fstat has said it is
//     regular) and rewritten at the end; a missing one is created 0644
//     (less the umask).
//
// Every kind is decided by fstat on the descriptor the open returned,
// never by a check of the path before it, so a file that appears or is
// replaced in between is judged by what was opened. One check does come
// first: a path that lstat says is a device or socket is refused without
// being opened, since opening some devices does something by itself; a
// device node that appears between that lstat and the open is still
// refused by the fstat, after its open (creating one takes privilege).
// Symbolic links in the directories above the last component are
// followed, as by any open.
func openJSON(path string) (*os.File, error) {
	if fd, ok := descriptorPath(path); ok {
		return dupDescriptor(fd)
	}
	if fi, err := os.Lstat(path); err == nil {
		if err := refuseKind(fi); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		fi, lerr := os.Lstat(path)
		switch {
		case lerr == nil && fi.Mode()&fs.ModeSymlink != 0:
			// ELOOP on Linux, EMLINK on FreeBSD, EFTYPE on NetBSD.
			return nil, jsonRefusal("it is a symbolic link, which tether does not follow (name its target, or /dev/stdout for standard output)")
		case errors.Is(err, unix.EISDIR):
			return nil, jsonRefusal("it is a directory")
		case errors.Is(err, unix.ENXIO) && lerr == nil && fi.Mode()&fs.ModeNamedPipe != 0:
			return nil, jsonRefusal("it is a FIFO that no process has open for reading (tether would block before the run)")
		}
		return nil, errors.New(redact.Cause(&fs.PathError{Op: "open", Path: path, Err: err}))
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err == nil {
		err = refuseKind(fi)
	}
	if err == nil && fi.Mode().IsRegular() {
		err = f.Truncate(0)
	}
	if err == nil {
		// Writes at the end block again, as for any file.
		err = unix.SetNonblock(fd, false)
	}
	if err != nil {
		f.Close()
		var refusal jsonRefusal
		if errors.As(err, &refusal) {
			return nil, err
		}
		return nil, errors.New(redact.Cause(err))
	}
	return f, nil
}

// refuseKind refuses the kinds of file --json never writes: a directory,
// a socket, a block device, and a character device other than the null
// device. The null device is the one worth accepting: writing to it does
// nothing, and scripts pass it to mean "no file". A terminal is reached
// through /dev/stdout or /dev/stderr instead.
func refuseKind(fi fs.FileInfo) error {
	mode := fi.Mode()
	switch {
	case mode.IsDir():
		return jsonRefusal("it is a directory")
	case mode&fs.ModeSocket != 0:
		return jsonRefusal("it is a socket")
	case mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0:
		return jsonRefusal("it is a block device")
	case mode&fs.ModeCharDevice != 0:
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
			return nil
		}
		return jsonRefusal("it is a character device other than " + os.DevNull + " (use /dev/stdout or /dev/stderr for a terminal)")
	}
	return nil
}

// dupDescriptor returns a copy of tether's descriptor fd, for a --json
// path that names one. It is refused unless fd is open for writing.
func dupDescriptor(fd int) (*os.File, error) {
	name := "descriptor " + strconv.Itoa(fd)
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, jsonRefusal("it names " + name + ", which is not open")
	}
	if acc := flags & unix.O_ACCMODE; acc != unix.O_WRONLY && acc != unix.O_RDWR {
		return nil, jsonRefusal("it names " + name + ", which is not open for writing")
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, errors.New("duplicating " + name + ": " + err.Error())
	}
	return os.NewFile(uintptr(nfd), name), nil
}
