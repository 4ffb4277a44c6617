//go:build windows

package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/gotether/tether/internal/redact"
)

// jsonRefusal is a --json path tether will not write to, found before
// anything is spawned. Its text names what the path is, never the path.
type jsonRefusal string

func (e jsonRefusal) Error() string { return string(e) }

// openJSON opens the --json file before the run. Windows has no
// O_NOFOLLOW: a symbolic link or other reparse point, a directory and a
// device other than NUL are refused by an Lstat before the open, and the
// file is truncated only after the opened handle says it is a regular
// file. Unlike on unix, a link that replaces the file between the Lstat
// and the open is followed (creating one takes a privilege or developer
// mode on Windows).
func openJSON(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil {
		switch mode := fi.Mode(); {
		case mode&fs.ModeSymlink != 0 || mode&fs.ModeIrregular != 0:
			return nil, jsonRefusal("it is a symbolic link or reparse point, which tether does not follow (name its target)")
		case mode.IsDir():
			return nil, jsonRefusal("it is a directory")
		case mode&fs.ModeDevice != 0 && path != os.DevNull:
			return nil, jsonRefusal("it is a device other than " + os.DevNull)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, errors.New(redact.Cause(err))
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() {
		err = f.Truncate(0)
	}
	if err != nil {
		f.Close()
		return nil, errors.New(redact.Cause(err))
	}
	return f, nil
}
