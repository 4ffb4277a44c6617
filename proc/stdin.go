package proc

import (
	"io"
	"iter"
	"os"
	"sync/atomic"
)

type stdinKind int

const (
	stdinNone stdinKind = iota
	stdinBytes
	stdinLines
	stdinFile
	stdinReader
	stdinInherit
	stdinInteractive
	// stdinPipe: the read end of a pipeline's OS pipe (Pipe only). The
	// run closes the parent's copy right after the spawn.
	stdinPipe
)

type stdinSpec struct {
	kind   stdinKind
	bytes  []byte
	lines  iter.Seq[string]
	path   string
	reader io.Reader
	pipe   *os.File
	// used is shared by every copy of a Cmd made after Stdin, so a
	// one-shot reader is consumed at most once across them.
	used *atomic.Bool
}

// open returns the file the child reads and, where tether must feed a
// pipe, its write end and the function that feeds it (run in its own
// goroutine; it closes w when done, and fails fast once the child stops
// reading or tether closes w at teardown).
func (s stdinSpec) open() (child, w *os.File, feed func(), err error) {
	switch s.kind {
	case stdinNone:
		return nil, nil, nil, nil
	case stdinFile:
		f, err := os.Open(s.path)
		return f, nil, nil, err
	case stdinInherit:
		return os.Stdin, nil, nil, nil
	case stdinPipe:
		return s.pipe, nil, nil, nil
	case stdinInteractive:
		r, w, err := os.Pipe()
		return r, w, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	feed = func() {
		defer w.Close()
		switch s.kind {
		case stdinBytes:
			_, _ = w.Write(s.bytes)
		case stdinLines:
			for line := range s.lines {
				if _, err := io.WriteString(w, line+"\n"); err != nil {
					return
				}
			}
		case stdinReader:
			_, _ = io.Copy(w, s.reader)
		}
	}
	return r, w, feed, nil
}
