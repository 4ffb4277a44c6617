package proc

import (
	"bytes"
	"context"
	"strings"
	"sync"
)

// promptMax is how many bytes of an unterminated line WaitForPrompt
// looks at: the last ones.
const promptMax = 4 << 10

// promptWatch keeps the unterminated end of one stream (the bytes after
// its last "\n") for WaitForPrompt, and wakes its waiters when it
// changes. A prompt ("Password: ", "Continue? [y/N] ", "> ") is printed
// without a newline, so no line reader ever sees it until the answer is
// typed. It costs a copy of at most promptMax bytes per read, and a
// channel only while someone waits.
type promptWatch struct {
	mu      sync.Mutex
	line    []byte
	changed chan struct{} // closed at the next change; nil while nobody waits
	ended   bool
}

// write takes bytes read from the stream.
func (w *promptWatch) write(p []byte) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		w.line, p = w.line[:0], p[i+1:]
	}
	if len(p) >= promptMax {
		p = p[len(p)-promptMax:]
	}
	if over := len(w.line) + len(p) - promptMax; over > 0 {
		w.line = append(w.line[:0], w.line[over:]...)
	}
	w.line = append(w.line, p...)
	w.wake()
}

// end records the end of the stream.
func (w *promptWatch) end() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	w.wake()
}

func (w *promptWatch) wake() {
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
}

// look returns the unterminated line, whether the stream has ended, and
// a channel closed at the next change (nil once it has ended).
func (w *promptWatch) look() (line []byte, ended bool, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return bytes.Clone(w.line), true, nil
	}
	if w.changed == nil {
		w.changed = make(chan struct{})
	}
	return bytes.Clone(w.line), false, w.changed
}

// WaitForPrompt waits until the line stdout (or stderr) is printing,
// not yet ended by a newline, contains substr, and returns that line: a
// prompt waiting for an answer ("Password: ", "[y/N] "), which the line
// waits never see, since a line reaches them only once it ends. The
// line is decoded with the stream's encoding and has its terminal
// control sequences removed (as StripControls does) whether or not the
// Cmd strips them, so a coloured prompt matches its plain text; at most
// its last 4 KiB are looked at. Output printed before the wait began
// counts: a prompt already showing is found at once. An empty substr
// matches any unterminated line, an empty one included (the output so
// far ended with a newline, or nothing was printed). A stream that has
// ended has no prompt waiting.
//
// Only the end of the output counts: a prompt that was answered (a line
// ended after it) is no longer waiting, and the wait goes on. Like the
// other waits it never kills the process, and gives up with a
// *NotReadyError when ctx ends or the streams end.
//
// Answer the prompt through RunningProcess.Stdin. On a terminal with
// echo on, typing before the program has turned echo off for a password
// can show the password in the output: a program that prints its prompt
// first and then turns echo off (bash's read -s -p does) leaves a short
// window after the prompt appears.
func (p *RunningProcess) WaitForPrompt(ctx context.Context, substr string) (string, error) {
	const what = "prompt containing the expected text"
	if ctx == nil {
		return "", nilContext(p.cmd.name, what)
	}
	var watches []*promptWatch
	for _, cp := range []*capture{p.streams.out, p.streams.err} {
		if cp != nil && cp.prompt != nil {
			watches = append(watches, cp.prompt)
		}
	}
	for {
		var chans [2]<-chan struct{}
		open := 0
		for i, w := range watches {
			line, ended, changed := w.look()
			if ended {
				continue // nothing waits for an answer any more
			}
			if text := p.promptText(w, line); strings.Contains(text, substr) {
				return text, nil
			}
			chans[i] = changed
			open++
		}
		if open == 0 {
			return "", p.notReady(ctx, what)
		}
		select {
		case <-ctx.Done():
			return "", p.notReady(ctx, what)
		case <-chans[0]:
		case <-chans[1]:
		}
	}
}

// promptText is the unterminated line of w as WaitForPrompt matches it.
func (p *RunningProcess) promptText(w *promptWatch, line []byte) string {
	st := Stdout
	if p.streams.err != nil && w == p.streams.err.prompt {
		st = Stderr
	}
	return stripControls(decodeAll(p.cmd.lines.enc[st], line))
}
