package testchild

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/windows"
)

// terminalOp runs the script's terminal operations on Windows (see
// ModeScript), on the console's own calls: handled is false for an op
// that is not one of them; code is the exit code when the script must
// end, -1 to go on.
//
//   - tty: "tty <stdin is a console> <stdout is a console>"
//     (GetConsoleMode succeeds on the standard handle), on stdout;
//   - winsize: "size <rows> <cols>", the window of the console screen
//     buffer, on the console;
//   - winch: winsize, then again once the size has changed (polled: a
//     program that does not read console input sees no event), or exit
//     4 after a minute;
//   - conout TEXT: TEXT written to the console;
//   - conin: a line read from the console's input, then "got <quoted>"
//     on the console;
//   - onint: "waiting" on the console, then "interrupted" once a
//     CTRL_C_EVENT (os.Interrupt) arrives, or exit 4 after a minute.
//
// "The console" is the standard handle when it is a console, else the
// console the process is attached to, opened as CONOUT$ or CONIN$: Wine
// 8 attaches a child to its pseudo console but leaves its standard
// handles empty, and the tests measure what the console does there.
func terminalOp(op string, arg func() string) (handled bool, code int) {
	switch op {
	case "tty":
		fmt.Printf("tty %v %v\n", isConsole(std(windows.STD_INPUT_HANDLE)), isConsole(std(windows.STD_OUTPUT_HANDLE)))
	case "winsize":
		if _, _, err := printSize(); err != nil {
			return true, 3
		}
	case "winch":
		rows, cols, err := printSize()
		if err != nil {
			return true, 3
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			r, c, err := size()
			if err != nil {
				return true, 3
			}
			if r != rows || c != cols {
				conPrintf("size %d %d\r\n", r, c)
				return true, -1
			}
		}
		return true, 4
	case "conout":
		conPrintf("%s", arg())
	case "conin":
		in, err := console(windows.STD_INPUT_HANDLE, "CONIN$")
		if err != nil {
			fmt.Fprintln(os.Stderr, "testchild: conin:", err)
			return true, 3
		}
		line, err := bufio.NewReader(os.NewFile(uintptr(in), "CONIN$")).ReadString('\n')
		if err != nil {
			return true, 3
		}
		conPrintf("got %q\r\n", line)
	case "onint":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt)
		conPrintf("waiting\r\n")
		select {
		case <-ch:
			conPrintf("interrupted\r\n")
		case <-time.After(time.Minute):
			return true, 4
		}
	default:
		return false, 0
	}
	return true, -1
}

func std(which uint32) windows.Handle {
	h, _ := windows.GetStdHandle(which)
	return h
}

func isConsole(h windows.Handle) bool {
	var mode uint32
	return windows.GetConsoleMode(h, &mode) == nil
}

// console returns the standard handle which if it is a console, else the
// console device name opened.
func console(which uint32, name string) (windows.Handle, error) {
	if h := std(which); isConsole(h) {
		return h, nil
	}
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
}

func conPrintf(format string, a ...any) {
	h, err := console(windows.STD_OUTPUT_HANDLE, "CONOUT$")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testchild: console:", err)
		return
	}
	var n uint32
	_ = windows.WriteFile(h, fmt.Appendf(nil, format, a...), &n, nil)
}

func size() (rows, cols int, err error) {
	h, err := console(windows.STD_OUTPUT_HANDLE, "CONOUT$")
	if err != nil {
		return 0, 0, err
	}
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(h, &info); err != nil {
		return 0, 0, err
	}
	w := info.Window
	return int(w.Bottom-w.Top) + 1, int(w.Right-w.Left) + 1, nil
}

func printSize() (rows, cols int, err error) {
	rows, cols, err = size()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testchild: winsize:", err)
		return 0, 0, err
	}
	conPrintf("size %d %d\r\n", rows, cols)
	return rows, cols, nil
}
