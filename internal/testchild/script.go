package testchild

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ModeScript runs its arguments as a little script of operations, in
// order, then exits 0. It lets one helper mode play every child a test of
// the run-and-capture layer needs:
//
//	out TEXT        write TEXT to stdout (no newline added)
//	err TEXT        write TEXT to stderr
//	outn N          write N bytes ('x') to stdout, in 64 KiB writes
//	cat             copy stdin to stdout until EOF
//	head N          copy the first N lines of stdin to stdout, then go on
//	                (like head -N, without reading the rest)
//	hold            start a grandchild that inherits stdout and stderr and blocks
//	holdsid         the same, the grandchild calling setsid first (Windows:
//	                started detached in a new process group)
//	holdstubborn    start a grandchild that ignores the graceful signal
//	                (TermSignal) and blocks; the script goes on once it
//	                ignores it. Its pid is listed by pids as "holdstubborn PID"
//	outhex HEX      write the bytes HEX encodes to stdout
//	writefd FD TEXT write TEXT to descriptor FD (an inherited extra file)
//	ids             write "uid gid sid pid" to stdout (-1 where the OS has none)
//	listen ADDR     listen on TCP ADDR ("127.0.0.1:0"), accept in the background,
//	                write "listening on HOST:PORT\n" to stdout
//	listenunix PATH the same on a Unix socket at PATH
//	lines N         write N numbered lines ("line 1\n" ...) to stdout
//	interleave N    write "out K\n" to stdout and then "err K\n" to stderr for
//	                K from 1 to N, each line one write system call, so the
//	                order of the writes is known exactly
//	stdinkind       write what stdin is to stdout: "file", "pipe", "null"
//	                (the null device), "char" (another character device)
//	                or "other"
//	waitin          read one line from stdin (a go signal from the test)
//	failuntil FILE N  count this run in FILE; exit 75 while fewer than N runs
//	                were counted (a flaky tool, for retry tests)
//	pids FILE       write "role pid" lines of this process and its holders to FILE
//	sleep D         sleep for duration D
//	block           block until killed
//	onterm TEXT     on SIGTERM (or os.Interrupt on Windows), write TEXT to stdout and exit 0
//	ignoreterm      ignore SIGTERM
//	exit N          exit with code N at once
//	env NAME        write the value of NAME to stdout
//	kill SIG        send signal number SIG to itself (unix)
//	killgroup SIG   send signal number SIG to its own process group, as
//	                kill(0, SIG) does (unix; exits 2 elsewhere)
//
// and, on Linux, the operations of a child on a terminal (unknown ops
// elsewhere):
//
//	tty             write "tty ISATTY0 ISATTY1\n" (true or false each)
//	winsize         write "size ROWS COLS\n", the terminal's size
//	winch           write the size, wait for SIGWINCH, write the size again
//	colour TEXT     write TEXT and a newline, in red with a title sequence
//	                when stdout is a terminal, plain otherwise
//	password PROMPT turn the terminal's echo off, write PROMPT (no newline),
//	                read a line, turn echo on, write "\ngot LINE\n" (Go-quoted)
//	raw             put the terminal in raw mode (cfmakeraw: no echo, no
//	                line editing, no signals, no output processing)
//	sumin N         read N bytes of stdin, write "sum SHA256HEX\n"
//	outbin N        write Pattern(N) to stdout
const ModeScript = "script"

// Script returns the arguments of a ModeScript child: pairs and single
// words as listed above.
func Script(ops ...string) []string { return ops }

func runScript(args []string) int {
	var holders []string
	next := func(i *int) string {
		*i++
		if *i >= len(args) {
			fmt.Fprintln(os.Stderr, "testchild: script: missing operand for", args[*i-1])
			os.Exit(2)
		}
		return args[*i]
	}
	for i := 0; i < len(args); i++ {
		switch op := args[i]; op {
		case "out":
			_, _ = os.Stdout.WriteString(next(&i))
		case "writefd":
			fd, err := strconv.Atoi(next(&i))
			if err != nil {
				return 2
			}
			f := os.NewFile(uintptr(fd), "fd "+strconv.Itoa(fd))
			if f == nil {
				return 2
			}
			if _, err := f.WriteString(next(&i)); err != nil {
				fmt.Fprintln(os.Stderr, "testchild: writefd:", err)
				return 3
			}
		case "outhex":
			b, err := hex.DecodeString(next(&i))
			if err != nil {
				return 2
			}
			_, _ = os.Stdout.Write(b)
		case "listen", "listenunix":
			network := "tcp"
			if op == "listenunix" {
				network = "unix"
			}
			ln, err := net.Listen(network, next(&i))
			if err != nil {
				fmt.Fprintln(os.Stderr, "testchild: listen:", err)
				return 3
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					_ = c.Close()
				}
			}()
			fmt.Printf("listening on %s\n", ln.Addr())
		case "failuntil":
			file := next(&i)
			n, _ := strconv.Atoi(next(&i))
			b, _ := os.ReadFile(file)
			count, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			count++
			if err := os.WriteFile(file, []byte(strconv.Itoa(count)), 0o600); err != nil {
				return 3
			}
			if count < n {
				fmt.Fprintf(os.Stderr, "flaky: run %d of %d\n", count, n)
				os.Exit(75)
			}
		case "waitin":
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return 3
			}
		case "lines":
			n, _ := strconv.Atoi(next(&i))
			w := bufio.NewWriter(os.Stdout)
			for k := 1; k <= n; k++ {
				// Stop at a broken pipe (Windows has no SIGPIPE).
				if _, err := fmt.Fprintf(w, "line %d\n", k); err != nil {
					return 3
				}
			}
			if err := w.Flush(); err != nil {
				return 3
			}
		case "ids":
			_, _ = os.Stdout.WriteString(ids())
		case "interleave":
			n, _ := strconv.Atoi(next(&i))
			for k := 1; k <= n; k++ {
				if _, err := os.Stdout.WriteString("out " + strconv.Itoa(k) + "\n"); err != nil {
					return 3
				}
				if _, err := os.Stderr.WriteString("err " + strconv.Itoa(k) + "\n"); err != nil {
					return 3
				}
			}
		case "stdinkind":
			_, _ = os.Stdout.WriteString(stdinKind())
		case "err":
			_, _ = os.Stderr.WriteString(next(&i))
		case "outn":
			n, _ := strconv.Atoi(next(&i))
			chunk := []byte(strings.Repeat("x", 64<<10))
			for n > 0 {
				w := min(n, len(chunk))
				if _, err := os.Stdout.Write(chunk[:w]); err != nil {
					return 3
				}
				n -= w
			}
		case "head":
			n, _ := strconv.Atoi(next(&i))
			in := bufio.NewReader(os.Stdin)
			for k := 0; k < n; k++ {
				line, err := in.ReadString('\n')
				if _, werr := os.Stdout.WriteString(line); werr != nil {
					return 3
				}
				if err != nil {
					break
				}
			}
		case "cat":
			if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
				return 3
			}
		case "hold", "holdsid":
			cmd := Command(ModeSleep)
			var report *os.File
			if op == "holdsid" {
				cmd = Command(modeEscapee, escapeRole)
				EscapeAtStart(cmd, escapeRole)
				if escapesItself {
					// The escapee reports on fd 3 once it has left the
					// group, so the script goes on only after the escape.
					r, w, err := os.Pipe()
					if err != nil {
						return 3
					}
					report = r
					cmd.ExtraFiles = []*os.File{w}
					cmd.Env = append(cmd.Env, escapeReportEnv+"=3")
				} else {
					cmd.Env = append(cmd.Env, escapeReportEnv+"=none")
				}
			}
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "testchild: hold:", err)
				return 3
			}
			if report != nil {
				cmd.ExtraFiles[0].Close()
				line, err := bufio.NewReader(report).ReadString('\n')
				report.Close()
				if err != nil || line != "escaped\n" {
					fmt.Fprintln(os.Stderr, "testchild: holdsid did not escape:", err)
					return 3
				}
			}
			holders = append(holders, op+" "+strconv.Itoa(cmd.Process.Pid))
		case "holdstubborn":
			pid, err := holdStubborn()
			if err != nil {
				fmt.Fprintln(os.Stderr, "testchild: holdstubborn:", err)
				return 3
			}
			holders = append(holders, op+" "+strconv.Itoa(pid))
		case "pids":
			path := next(&i)
			lines := append([]string{"child " + strconv.Itoa(os.Getpid())}, holders...)
			tmp := path + ".tmp"
			if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				return 3
			}
			if err := os.Rename(tmp, path); err != nil {
				return 3
			}
		case "sleep":
			d, err := time.ParseDuration(next(&i))
			if err != nil {
				return 2
			}
			time.Sleep(d)
		case "block":
			return Block()
		case "onterm":
			text := next(&i)
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, TermSignal)
			go func() {
				<-ch
				_, _ = os.Stdout.WriteString(text)
				os.Exit(0)
			}()
		case "ignoreterm":
			signal.Ignore(TermSignal)
		case "exit":
			n, _ := strconv.Atoi(next(&i))
			os.Exit(n)
		case "env":
			_, _ = os.Stdout.WriteString(os.Getenv(next(&i)))
		case "killgroup":
			n, _ := strconv.Atoi(next(&i))
			if err := killGroup(n); err != nil {
				fmt.Fprintln(os.Stderr, "testchild: killgroup:", err)
				return 2
			}
		case "kill":
			n, _ := strconv.Atoi(next(&i))
			p, _ := os.FindProcess(os.Getpid())
			_ = p.Signal(syscall.Signal(n))
			return Block()
		default:
			handled, code := terminalOp(op, func() string { return next(&i) })
			if !handled {
				fmt.Fprintln(os.Stderr, "testchild: script: unknown op", op)
				return 2
			}
			if code >= 0 {
				return code
			}
		}
	}
	return 0
}

// stdinKind says what the process's stdin is (see the stdinkind op).
func stdinKind() string {
	fi, err := os.Stdin.Stat()
	switch {
	case err != nil:
		return "other"
	case fi.Mode().IsRegular():
		return "file"
	case fi.Mode()&os.ModeNamedPipe != 0:
		return "pipe"
	case fi.Mode()&os.ModeCharDevice != 0:
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
			return "null"
		}
		return "char"
	}
	return "other"
}

// Pattern returns n bytes that take every value and do not repeat with a
// short period, for checking that binary output arrived intact.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// holdStubborn starts a grandchild that ignores TermSignal and blocks,
// and returns its pid once it says it ignores it.
func holdStubborn() (int, error) {
	cmd := Command(ModeScript, "ignoreterm", "out", "ignoring\n", "block")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err == nil && line != "ignoring\n" {
		err = fmt.Errorf("it wrote %q", line)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("the grandchild did not start: %w", err)
	}
	return cmd.Process.Pid, nil
}
