package containtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gotether/tether/internal/testchild"
)

// The suite's children are the test binary itself, re-executed with
// childEnv set and argv[0] set to childArgv0; this package's init sees
// both and runs the child behaviour instead of the program, so a backend's
// tests need no TestMain for them. Both conditions must hold: a program
// that merely inherited the variable (none can: the child removes it from
// its own environment at once, and every grandchild gets it back from
// command) or that was started under that name by someone else is left
// alone.
const (
	childEnv   = "CONTAINTEST_CHILD"
	childArgv0 = "containtest-child"
	// childProtocol is childEnv's value; a child of another build of
	// this package that means something else by a mode exits 2.
	childProtocol = "1"
)

// roleEnv asks the re-executed test binary to play a role of the suite
// (an owner that is killed, a scenario that could hang its process)
// when it reaches TestBackend, instead of running the suite.
const roleEnv = "CONTAINTEST_ROLE"

// role is roleEnv's value, taken out of the environment at init so that
// nothing this process starts inherits it.
var role string

// The child modes.
const (
	modeSleep   = "sleep"   // block until killed
	modeExit    = "exit"    // exit with the code in the first argument
	modeTree    = "tree"    // start the grandchildren, report them, block
	modeTick    = "tick"    // write the wall-clock time to stdout every millisecond
	modeSpin    = "spin"    // burn CPU for the duration in the argument, exit 0
	modeEscapee = "escapee" // leave the group as the argument says, report, block
)

func init() {
	if v, ok := os.LookupEnv(roleEnv); ok {
		role = v
		_ = os.Unsetenv(roleEnv)
	}
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	_ = os.Unsetenv(childEnv)
	if len(os.Args) < 2 || os.Args[0] != childArgv0 {
		return
	}
	if v != childProtocol {
		os.Exit(2)
	}
	os.Exit(runChild(os.Args[1], os.Args[2:]))
}

// command returns a command that runs the test binary as a suite child
// in mode. Its standard streams are the null device unless set.
func command(mode string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic("containtest: the test binary cannot be re-executed: " + err.Error())
	}
	cmd := exec.Command(exe)
	cmd.Args = append([]string{childArgv0, mode}, args...)
	cmd.Env = append(testchild.CleanEnv(childEnv, roleEnv), childEnv+"="+childProtocol)
	return cmd
}

func runChild(mode string, args []string) int {
	arg := func() string {
		if len(args) == 0 {
			fmt.Fprintf(os.Stderr, "containtest: child mode %s needs an argument\n", mode)
			os.Exit(2)
		}
		return args[0]
	}
	switch mode {
	case modeSleep:
		return testchild.Block()
	case modeExit:
		n, err := strconv.Atoi(arg())
		if err != nil {
			return 2
		}
		return n
	case modeTree:
		return runTree()
	case modeTick:
		w := bufio.NewWriter(os.Stdout)
		for {
			if _, err := w.WriteString(strconv.FormatInt(time.Now().UnixNano(), 10) + "\n"); err != nil {
				return 0
			}
			if err := w.Flush(); err != nil {
				return 0 // the reader is gone: so is the test
			}
			time.Sleep(time.Millisecond)
		}
	case modeSpin:
		d, err := time.ParseDuration(arg())
		if err != nil {
			return 2
		}
		testchild.Spin(d)
		return 0
	case modeEscapee:
		if err := testchild.Escape(arg()); err != nil {
			fmt.Fprintln(os.Stderr, "containtest: escape:", err)
			return 3
		}
		fmt.Println("escaped")
		return testchild.Block()
	}
	fmt.Fprintln(os.Stderr, "containtest: unknown child mode", mode)
	return 2
}

// runTree starts a plain grandchild and one grandchild per escape role
// (see testchild.EscapeRoles), waits until each escapee says it has left,
// then writes "ROLE PID" lines, the child's own first, and "ready" to
// stdout and blocks. The grandchildren's standard streams are not the child's,
// so the test's pipe closes with the child.
func runTree() int {
	lines := []string{"child " + strconv.Itoa(os.Getpid())}
	gc := command(modeSleep)
	if err := gc.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "containtest: grandchild:", err)
		return 3
	}
	lines = append(lines, "grandchild "+strconv.Itoa(gc.Process.Pid))
	for _, r := range testchild.EscapeRoles {
		cmd := command(modeEscapee, r)
		testchild.EscapeAtStart(cmd, r)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return 3
		}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "containtest: escapee", r+":", err)
			return 3
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "escaped\n" {
			fmt.Fprintf(os.Stderr, "containtest: escapee %s did not escape: %q %v\n", r, line, err)
			return 3
		}
		lines = append(lines, r+" "+strconv.Itoa(cmd.Process.Pid))
	}
	if _, err := io.WriteString(os.Stdout, strings.Join(lines, "\n")+"\nready\n"); err != nil {
		return 3
	}
	return testchild.Block()
}
