//go:build windows

package proc

// The terminal of a terminal run (terminal.go) on Windows: a pseudo
// console (ConPTY, Windows 10 1809 and later). A pseudo console is
// attached to a child only at its creation, through an attribute list
// (PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE) that os/exec's SysProcAttr
// cannot carry, so tether creates this child itself: suspended, placed
// in its container with Adopt while it has run no instruction, then
// resumed. The run then waits on it as an *os.Process, like any other
// (child.create).

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
)

// consoleFlags are the creation flags that choose the child's console
// themselves, which a pseudo console replaces.
const consoleFlags = windows.DETACHED_PROCESS | windows.CREATE_NEW_CONSOLE

// maxTerminalSide is the largest number of rows or columns: a console's
// coordinates are signed 16-bit numbers.
const maxTerminalSide = math.MaxInt16

// terminalSupported refuses what a pseudo console cannot do: a Windows
// without one (CreatePseudoConsole is missing before Windows 10 1809) and
// creation flags that give the child another console or none.
func terminalSupported(c *Cmd) error {
	if err := windows.NewLazySystemDLL("kernel32.dll").NewProc("CreatePseudoConsole").Find(); err != nil {
		return unsupported(c.name, "a terminal (Terminal)", "this Windows has no pseudo console (CreatePseudoConsole needs Windows 10 1809 or later)")
	}
	if c.sys.winFlags&consoleFlags != 0 {
		return &InvalidError{Program: c.name, Reason: "Terminal with DETACHED_PROCESS or CREATE_NEW_CONSOLE in WindowsCreationFlags: the pseudo console is the child's console"}
	}
	return nil
}

// terminal is a terminal run's pseudo console. Its handle is released
// once, by close: when the child has exited, or when its creation fails.
type terminal struct {
	mu  sync.Mutex
	hpc windows.Handle // 0 once closed
}

// wireTerminal makes a pseudo console of the Cmd's size, with a pipe for
// its input and one for its output, and gives the run its side of each
// (terminalSides). The console's own ends are kept in files, closed by
// the parent once the child runs, so that the output pipe ends when the
// console closes. The child is created by the terminal (child.create)
// from ecmd's program, arguments, environment and directory.
func (p *RunningProcess) wireTerminal(ecmd *exec.Cmd, files *childFiles, viaStart bool) error {
	c := p.cmd
	inR, inW, err := os.Pipe()
	if err != nil {
		return &StartError{Program: c.name, Err: err}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return &StartError{Program: c.name, Err: err}
	}
	t := &terminal{}
	err = windows.CreatePseudoConsole(consoleSize(c.term.rows, c.term.cols), windows.Handle(inR.Fd()), windows.Handle(outW.Fd()), 0, &t.hpc)
	if err != nil {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
		return &StartError{Program: c.name, Err: &os.SyscallError{Syscall: "CreatePseudoConsole", Err: err}}
	}
	files.keep(inR, nil)
	files.keep(outW, nil)
	p.terminalSides(inW, outR, viaStart)
	p.term = t
	p.child.create = func(ct contain.Container) (*os.Process, error) { return t.start(ct, ecmd) }
	return nil
}

// consoleSize is rows by cols as a console coordinate (checked to fit, at most
// maxTerminalSide, by checkTerminal and Resize).
func consoleSize(rows, cols uint16) windows.Coord {
	return windows.Coord{X: int16(cols), Y: int16(rows)}
}

// start creates ecmd's program on the pseudo console, suspended, places
// it in ct with Adopt and resumes it, so it runs no instruction outside
// the container, as the Job Object backend's Start does. Unlike that
// Start it adds no CREATE_NEW_PROCESS_GROUP: a new group starts with
// Ctrl-C disabled, so the console's CTRL_C_EVENT (SendControl('C'))
// would not reach the child, and the group would buy nothing, since the
// child's console is its own and no event from the owner's reaches it.
// It returns the running child as an
// *os.Process, opened by pid while the creation's handle still pins the
// process (so the pid names no one else). Once the child exits, the
// pseudo console is closed, which ends its output pipe. If anything
// fails, the child is terminated and waited for, the console closed, and
// nothing is left running.
func (t *terminal) start(ct contain.Container, ecmd *exec.Cmd) (*os.Process, error) {
	ph, th, err := t.create(ecmd)
	if err != nil {
		// Not waited for: on older builds the close waits for the output
		// to be read, which nobody does until the failed spawn closes the
		// pipe (abandon), after this returns.
		go t.close()
		return nil, err
	}
	defer func() { _ = windows.CloseHandle(th) }()
	fail := func(err error) (*os.Process, error) {
		_ = windows.TerminateProcess(ph, 1)
		_, _ = windows.WaitForSingleObject(ph, windows.INFINITE)
		_ = windows.CloseHandle(ph)
		go t.close()
		return nil, err
	}
	pid, err := windows.GetProcessId(ph)
	if err != nil {
		return fail(os.NewSyscallError("GetProcessId", err))
	}
	if err := ct.Adopt(int(pid)); err != nil {
		return fail(err)
	}
	if _, err := windows.ResumeThread(th); err != nil {
		return fail(os.NewSyscallError("ResumeThread", err))
	}
	proc, err := os.FindProcess(int(pid))
	if err != nil {
		return fail(err)
	}
	go func() {
		_, _ = windows.WaitForSingleObject(ph, windows.INFINITE)
		_ = windows.CloseHandle(ph)
		t.close()
	}()
	return proc, nil
}

// create creates ecmd's program suspended on the pseudo console and
// returns its process and thread handles.
//
// STARTF_USESTDHANDLES with no handles keeps the owner's own standard
// handles (pipes, when the owner's output is redirected) from being
// handed to the child in place of the console's: with it the child's
// standard handles are the pseudo console's.
func (t *terminal) create(ecmd *exec.Cmd) (process, thread windows.Handle, err error) {
	list, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return 0, 0, os.NewSyscallError("InitializeProcThreadAttributeList", err)
	}
	defer list.Delete()
	// The attribute's value is the console handle itself, not a pointer
	// to it.
	if err := list.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&t.hpc)), unsafe.Sizeof(t.hpc)); err != nil {
		return 0, 0, os.NewSyscallError("UpdateProcThreadAttribute", err)
	}
	si := windows.StartupInfoEx{ProcThreadAttributeList: list.List()}
	si.Cb = uint32(unsafe.Sizeof(si))
	si.Flags = windows.STARTF_USESTDHANDLES

	var flags uint32
	cmdLine := ""
	if attr := ecmd.SysProcAttr; attr != nil {
		// CREATE_NO_WINDOW (HideWindow) is dropped: a pseudo console has
		// no window, and the flag would give the child a console other
		// than it.
		flags = attr.CreationFlags &^ windows.CREATE_NO_WINDOW
		cmdLine = attr.CmdLine
	}
	if cmdLine == "" {
		cmdLine = windows.ComposeCommandLine(ecmd.Args)
	}
	flags |= windows.CREATE_SUSPENDED | windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_UNICODE_ENVIRONMENT
	path := ecmd.Path
	if ecmd.Dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(ecmd.Dir, path)
	}
	app, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, err
	}
	line, err := windows.UTF16PtrFromString(cmdLine)
	if err != nil {
		return 0, 0, err
	}
	var dir *uint16
	if ecmd.Dir != "" {
		if dir, err = windows.UTF16PtrFromString(ecmd.Dir); err != nil {
			return 0, 0, err
		}
	}
	env, err := environmentBlock(ecmd.Env)
	if err != nil {
		return 0, 0, err
	}
	var pi windows.ProcessInformation
	if err := windows.CreateProcess(app, line, nil, nil, false, flags, &env[0], dir, &si.StartupInfo, &pi); err != nil {
		return 0, 0, &os.PathError{Op: "CreateProcess", Path: path, Err: err}
	}
	return pi.Process, pi.Thread, nil
}

// environmentBlock is env as CreateProcess takes it with
// CREATE_UNICODE_ENVIRONMENT: each "key=value" ended by a NUL, the block
// by one more. SYSTEMROOT is added from the owner's unless env has it,
// as os/exec adds it: without it much of Windows fails to load.
func environmentBlock(env []string) ([]uint16, error) {
	hasRoot := false
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "SYSTEMROOT") {
			hasRoot = true
		}
	}
	if !hasRoot {
		env = append(env[:len(env):len(env)], "SYSTEMROOT="+os.Getenv("SYSTEMROOT"))
	}
	var block []uint16
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, errors.New("proc: environment variable contains a NUL byte")
		}
		block = append(block, windows.StringToUTF16(kv)...) // with its NUL
	}
	if len(block) == 0 {
		block = append(block, 0)
	}
	return append(block, 0), nil
}

// close releases the pseudo console, once: the console ends the
// processes still attached to it and closes its end of the output pipe,
// so that reading stdout reaches its end. ClosePseudoConsole can block
// until the output is read (older Windows builds, as Microsoft's
// documentation says); the run's drain reads it meanwhile, and close
// never runs on the drain's goroutine.
func (t *terminal) close() {
	t.mu.Lock()
	h := t.hpc
	t.hpc = 0
	t.mu.Unlock()
	if h != 0 {
		windows.ClosePseudoConsole(h)
	}
}

// setTerminalSize resizes the pseudo console to rows by cols; the console
// tells the attached programs (a WINDOW_BUFFER_SIZE_EVENT for a program
// that reads console input). It fails with an error matching os.ErrClosed
// once the console is closed.
func setTerminalSize(t *terminal, rows, cols uint16) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hpc == 0 {
		return &os.PathError{Op: "resize", Path: "pseudo console", Err: os.ErrClosed}
	}
	if err := windows.ResizePseudoConsole(t.hpc, consoleSize(rows, cols)); err != nil {
		return os.NewSyscallError("ResizePseudoConsole", err)
	}
	return nil
}
