package testchild

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// terminalOp runs the script's terminal operations (see ModeScript):
// handled is false for an op that is not one of them; code is the exit
// code when the script must end, -1 to go on.
func terminalOp(op string, arg func() string) (handled bool, code int) {
	switch op {
	case "tty":
		fmt.Printf("tty %v %v\n", isatty(0), isatty(1))
	case "winsize":
		return true, printSize()
	case "winch":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGWINCH)
		if c := printSize(); c >= 0 {
			return true, c
		}
		<-ch
		signal.Stop(ch)
		return true, printSize()
	case "colour":
		text := arg()
		if isatty(1) {
			fmt.Printf("\x1b[1;31m%s\x1b[0m\x1b]0;title\x07\n", text)
		} else {
			fmt.Printf("%s\n", text)
		}
	case "password":
		prompt := arg()
		if err := setTermios(0, func(t *unix.Termios) { t.Lflag &^= unix.ECHO }); err != nil {
			fmt.Fprintln(os.Stderr, "testchild: password:", err)
			return true, 3
		}
		_, _ = os.Stdout.WriteString(prompt)
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil {
			return true, 3
		}
		_ = setTermios(0, func(t *unix.Termios) { t.Lflag |= unix.ECHO })
		fmt.Printf("\ngot %q\n", line)
	case "raw":
		if err := setTermios(0, makeRaw); err != nil {
			fmt.Fprintln(os.Stderr, "testchild: raw:", err)
			return true, 3
		}
	case "sumin":
		var n int64
		if _, err := fmt.Sscan(arg(), &n); err != nil {
			return true, 2
		}
		h := sha256.New()
		if _, err := io.CopyN(h, os.Stdin, n); err != nil {
			return true, 3
		}
		fmt.Printf("sum %s\n", hex.EncodeToString(h.Sum(nil)))
	case "outbin":
		var n int
		if _, err := fmt.Sscan(arg(), &n); err != nil {
			return true, 2
		}
		if _, err := os.Stdout.Write(Pattern(n)); err != nil {
			return true, 3
		}
	default:
		return false, 0
	}
	return true, -1
}

// printSize writes the terminal's size as "size ROWS COLS\n".
func printSize() int {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testchild: winsize:", err)
		return 3
	}
	fmt.Printf("size %d %d\n", ws.Row, ws.Col)
	return -1
}

func isatty(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func setTermios(fd int, change func(*unix.Termios)) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	change(t)
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// makeRaw is cfmakeraw: no echo, no line editing, no signals, no
// translation of input or output, 8-bit bytes, reads of one byte at least.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
}
