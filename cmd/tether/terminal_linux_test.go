//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/testchild"
)

// The terminal tests drive an interactive bash (job control on) in a
// detached tmux session: keys go in with send-keys, the screen comes back
// with capture-pane. Each polls the screen with a deadline; none sleeps to
// synchronise.

// screenPatience bounds each wait for the screen: tmux, bash and a build
// of tether on a loaded machine.
const screenPatience = 3 * testchild.Patience

// tmuxSession is a detached tmux server of its own (its own socket),
// running an interactive bash.
type tmuxSession struct {
	t    *testing.T
	sock string
}

// newTmux starts the session, or skips the test where tmux is missing.
// The server and everything in it carry this test's owner tag, so the
// leak check sees any survivor.
func newTmux(t *testing.T) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux): the terminal tests need a real terminal, which a detached tmux session gives them")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed: the terminal tests need a shell with job control")
	}
	s := &tmuxSession{t: t, sock: filepath.Join(testchild.TempDir(t), "tmux.sock")}
	env := []string{"PS1=$ ", "TETHER_TEST_OWNER=" + strconv.Itoa(os.Getpid())}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TETHER_TESTCHILD_MODE=") && !strings.HasPrefix(kv, "TETHER_TEST_OWNER=") && !strings.HasPrefix(kv, "PS1=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command("tmux", "-S", s.sock, "-f", os.DevNull, "new-session", "-d", "-s", "t", "-x", "160", "-y", "50",
		"bash", "--norc", "--noprofile", "-i")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starting tmux: %v: %s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", s.sock, "kill-server").Run()
		waitNothingLeft(t)
	})
	s.waitFor("the shell's prompt", regexp.MustCompile(`(?m)^\$\s*$`))
	return s
}

// tmux runs a tmux command against the session's server.
func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %q: %v: %s", args, err, out)
	}
	return string(out)
}

// typeLine types text and Enter.
func (s *tmuxSession) typeLine(text string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", "t", "-l", text)
	s.tmux("send-keys", "-t", "t", "Enter")
}

// key sends one key (C-c, C-z).
func (s *tmuxSession) key(k string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", "t", k)
}

// screen is the pane's content, with its history.
func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-t", "t", "-S", "-500")
}

// waitFor polls the screen until re matches it and returns the match's
// groups.
func (s *tmuxSession) waitFor(what string, re *regexp.Regexp) []string {
	s.t.Helper()
	deadline := time.Now().Add(screenPatience)
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		scr := s.screen()
		if m := re.FindStringSubmatch(scr); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %v waiting for %s; the screen:\n%s", screenPatience, what, scr)
		}
		time.Sleep(wait)
	}
}

// checkForeground asks the shell which process group has the terminal's
// foreground and whether it is the shell's own: it prints both, so a
// shell that reads input again and owns the terminal answers "fg N=N".
func (s *tmuxSession) checkForeground(tag string) {
	s.t.Helper()
	s.typeLine(`echo "` + tag + `:$(ps -o tpgid= -p $$ | tr -d ' ')=$(ps -o pgid= -p $$ | tr -d ' ')"`)
	m := s.waitFor("the shell to say who has the terminal", regexp.MustCompile(`(?m)^`+tag+`:(\d+)=(\d+)$`))
	if m[1] != m[2] {
		s.t.Errorf("the terminal's foreground is group %s, not the shell's %s", m[1], m[2])
	}
}

// buildTether builds cmd/tether once for a test, without the race
// detector, into a temporary directory, with goCommand's go command.
func buildTether(t *testing.T) string {
	t.Helper()
	gobin := goCommand(t)
	exe := filepath.Join(testchild.TempDir(t), "tether")
	cmd := exec.Command(gobin, "build", "-o", exe, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tether: %v\n%s", err, out)
	}
	return exe
}

// terminalMechanisms runs f for each Linux mechanism usable here.
func terminalMechanisms(t *testing.T, f func(t *testing.T, tether string, m contain.Mechanism)) {
	tether := buildTether(t)
	ran := 0
	for _, a := range host.Inspect().Backends {
		if !a.Usable || (a.Mechanism != contain.CgroupV2 && a.Mechanism != contain.PGID) {
			continue
		}
		ran++
		t.Run(string(a.Mechanism), func(t *testing.T) { f(t, tether, a.Mechanism) })
	}
	if ran == 0 {
		t.Skip("neither cgroupv2 nor pgid is usable here")
	}
}

// TestTerminalProgramReadsTheTerminal: a program that reads the terminal
// under `tether run` gets what is typed (on the pgid mechanism it used to
// be stopped by SIGTTIN: its group was not the terminal's foreground),
// tether exits with its status, and the shell has the terminal again.
func TestTerminalProgramReadsTheTerminal(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		s := newTmux(t)
		s.typeLine(tether + ` run --mechanism ` + string(m) + ` -- sh -c 'printf "ready>"; read line; echo "got:$line"; exit 7'; echo "status:$?"`)
		s.waitFor("the program to be ready to read", regexp.MustCompile(`(?m)^ready>`))
		s.typeLine("hello tether")
		s.waitFor("the program to echo the line", regexp.MustCompile(`(?m)^got:hello tether$`))
		s.waitFor("tether's status", regexp.MustCompile(`(?m)^status:7$`))
		s.checkForeground("fg")
	})
}

// TestTerminalCtrlCEndsTheProgram: Ctrl-C reaches the program's group
// (sleep dies of SIGINT), tether exits 130, and the shell reads input and
// owns the terminal afterwards.
func TestTerminalCtrlCEndsTheProgram(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		s := newTmux(t)
		s.typeLine(tether + ` run --mechanism ` + string(m) + ` -- sh -c 'echo ready; exec sleep 60'; echo "status:$?"`)
		s.waitFor("the program to start", regexp.MustCompile(`(?m)^ready$`))
		sent := time.Now()
		s.key("C-c")
		// The terminal echoes ^C at the start of the line.
		s.waitFor("tether's status", regexp.MustCompile(`(?m)status:130$`))
		t.Logf("Ctrl-C to status on screen: %v", time.Since(sent))
		if scr := s.screen(); strings.Contains(scr, "tether: received SIGINT") {
			t.Errorf("Ctrl-C reached tether, not only the program's group:\n%s", scr)
		}
		s.checkForeground("fg")
	})
}

// TestTerminalCtrlZStopsAndFgResumes: Ctrl-Z stops the job (the shell
// says so and prompts), fg gives the program the terminal back, and it
// reads a line and completes.
func TestTerminalCtrlZStopsAndFgResumes(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		s := newTmux(t)
		// No "; echo $?" after it: bash goes on with the list when the
		// job stops. fg's status is the job's.
		s.typeLine(tether + ` run --mechanism ` + string(m) + ` -- sh -c 'echo ready; read line; echo "got:$line"'`)
		s.waitFor("the program to start", regexp.MustCompile(`(?m)^ready$`))
		s.key("C-z")
		s.waitFor("the shell to report the job stopped", regexp.MustCompile(`(?m)^\[1\]\+\s+Stopped\s`))
		s.checkForeground("stopped")
		s.typeLine("fg")
		// bash prints the job's command line when it resumes it.
		s.waitFor("the shell to resume the job", regexp.MustCompile(`(?m)^\$ fg\n.*`+regexp.QuoteMeta(tether)+` run`))
		s.typeLine("after fg")
		s.waitFor("the program to echo the line", regexp.MustCompile(`(?m)^got:after fg\n\$\s*$`))
		s.typeLine(`echo "status:$?"`)
		s.waitFor("tether's status", regexp.MustCompile(`(?m)^status:0$`))
		s.checkForeground("fg")
	})
}

// TestTerminalTakenBackAfterATimeout: in a shell without job control (sh
// -c), which never moves the terminal or resets its modes itself, tether
// takes the foreground back when its --timeout kills a program that was
// reading the terminal with echo and canonical mode off, and restores the
// modes it started with; a program that exits by itself keeps the modes
// it set (stty).
func TestTerminalTakenBackAfterATimeout(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		s := newTmux(t)
		run := tether + ` run --mechanism ` + string(m)
		s.typeLine(`sh -c '` + run + ` --timeout 1s -- sh -c "stty -echo -icanon; echo ready; read line"; echo "status:$?"; ` +
			`echo "inner:$(ps -o tpgid= -p $$ | tr -d " ")=$(ps -o pgid= -p $$ | tr -d " ")"; echo "modes:$(stty -a | grep -o -- "-*echo " | head -n 1)$(stty -a | grep -o -- "-*icanon")"; ` +
			run + ` -- stty -echo; echo "kept:$(stty -a | grep -o -- "-*echo " | head -n 1)"; stty echo'`)
		s.waitFor("the program to start", regexp.MustCompile(`(?m)^ready$`))
		s.waitFor("tether's status", regexp.MustCompile(`(?m)^status:124$`))
		g := s.waitFor("the inner shell to say who has the terminal", regexp.MustCompile(`(?m)^inner:(\d+)=(\d+)$`))
		if g[1] != g[2] {
			t.Errorf("after the timeout the terminal's foreground is group %s, not the inner shell's %s: tether did not take it back", g[1], g[2])
		}
		if g := s.waitFor("the modes after the timeout", regexp.MustCompile(`(?m)^modes:(.*)$`)); g[1] != "echo icanon" {
			t.Errorf("after the timeout the terminal's modes are %q, want echo and icanon back", g[1])
		}
		if g := s.waitFor("the modes stty left", regexp.MustCompile(`(?m)^kept:(.*)$`)); g[1] != "-echo" {
			t.Errorf("after stty -echo exited by itself the modes are %q, want -echo kept", g[1])
		}
		s.checkForeground("fg")
	})
}

// TestTerminalBackgroundChangesNothing: started with &, tether is not in
// the terminal's foreground and leaves the terminal alone: the shell
// keeps it while the program runs.
func TestTerminalBackgroundChangesNothing(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		s := newTmux(t)
		s.typeLine(tether + ` run --mechanism ` + string(m) + ` -- sh -c 'echo ready; exec sleep 60' &`)
		// After the next prompt, as likely as not.
		s.waitFor("the program to start", regexp.MustCompile(`(?m)ready$`))
		s.checkForeground("bg")
		s.typeLine(`kill %1; wait %1; echo "status:$?"`)
		s.waitFor("tether's status", regexp.MustCompile(`(?m)^status:143$`))
	})
}

// TestTerminalBgThenTheTerminalStopsTheJob: after Ctrl-Z and bg the
// program runs in the background; when it then reads the terminal
// (SIGTTIN) or changes its modes (SIGTTOU, which stops its whole group),
// the job is reported stopped again, and fg lets it finish. (tether
// ignores SIGTTOU, so it mirrors that stop with SIGTSTP; mirroring it
// with SIGTTOU did not stop tether, which continued the program at once,
// round after round, at full CPU.)
func TestTerminalBgThenTheTerminalStopsTheJob(t *testing.T) {
	terminalMechanisms(t, func(t *testing.T, tether string, m contain.Mechanism) {
		for name, c := range map[string]struct{ prog, stopped string }{
			"read": {`echo ready; sleep 1; read line; echo "got:$line"`, `Stopped \(tty input\)`},
			"stty": {`echo ready; sleep 1; stty -echo; stty echo; echo "got:modes"`, `Stopped`},
		} {
			t.Run(name, func(t *testing.T) {
				s := newTmux(t)
				s.typeLine(tether + ` run --mechanism ` + string(m) + ` -- sh -c '` + c.prog + `'`)
				s.waitFor("the program to start", regexp.MustCompile(`(?m)^ready$`))
				s.key("C-z")
				s.waitFor("the shell to report the job stopped", regexp.MustCompile(`(?m)^\[1\]\+\s+Stopped\s`))
				s.typeLine("bg")
				// The shell reports a change of a job's state before its
				// next prompt: ask until it says the job stopped again.
				stoppedAgain := regexp.MustCompile(`(?ms)^\$ bg\n.*^\[1\]\+\s+(?:\d+\s+)?` + c.stopped + `\s`)
				deadline := time.Now().Add(screenPatience)
				for !stoppedAgain.MatchString(s.screen()) {
					if time.Now().After(deadline) {
						t.Fatalf("the job was not reported stopped after bg; the screen:\n%s", s.screen())
					}
					s.typeLine("jobs -l")
					s.waitFor("jobs to answer", regexp.MustCompile(`(?m)^\$ jobs -l\n(?:.*\n)*\$\s*$`))
				}
				s.typeLine("fg")
				if name == "read" {
					s.waitFor("the shell to resume the job", regexp.MustCompile(`(?m)^\$ fg\n`))
					s.typeLine("after bg")
					s.waitFor("the program to echo the line", regexp.MustCompile(`(?m)^got:after bg\n\$\s*$`))
				} else {
					s.waitFor("the program to finish", regexp.MustCompile(`(?m)^got:modes\n\$\s*$`))
				}
				s.typeLine(`echo "status:$?"`)
				s.waitFor("tether's status", regexp.MustCompile(`(?m)^status:0$`))
				s.checkForeground("fg")
			})
		}
	})
}
