package testchild

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// The helper modes of the security tests (proc/security*_test.go). Each
// writes one JSON object per line to stdout, decoded with Report.
const (
	// ModeFds lists the descriptors open in the helper, before it opens
	// anything itself, and reports them with their targets as "fds"
	// (Linux only: it reads /proc/self/fd; elsewhere it reports an
	// error). Its first argument is a label; the operations after it run
	// in order:
	//
	//	tree    start a ModeFds grandchild labelled LABEL/grandchild that
	//	        shares this helper's stdin, stdout and stderr, and wait for it
	//	cat     copy stdin to stdout until EOF
	//	waitin  read one line from stdin
	ModeFds = "fds"
	// ModeArgv reports its arguments, each hex-encoded, as "args" (so
	// that any byte survives), with its pid and its parent's pid.
	ModeArgv = "argv"
	// ModeCreds reports the Uid, Gid, Groups, CapPrm and CapEff lines of
	// /proc/self/status (Linux) and what opening the file in its first
	// argument for reading gives: "ok", "EACCES" or the error's text.
	ModeCreds = "creds"
)

// Report is what a security helper writes: one JSON object per line.
type Report struct {
	Label string `json:"label,omitempty"`
	Pid   int    `json:"pid"`
	Ppid  int    `json:"ppid"`
	// Fds maps each open descriptor to its target ("/dev/null",
	// "pipe:[123]", ...), without the one used to list them (ModeFds).
	Fds map[string]string `json:"fds,omitempty"`
	// Inherited lists, in ascending order, the descriptors without
	// close-on-exec (ModeFds): those that came through exec. The Go
	// runtime opens some of its own before main (the cgroup CPU limit
	// files, the poller's epoll and eventfd), always with close-on-exec,
	// so they show in Fds and not here.
	Inherited []int `json:"inherited,omitempty"`
	// Args are the arguments, hex-encoded (ModeArgv).
	Args []string `json:"args,omitempty"`
	// Status holds lines of /proc/self/status by name, their values
	// with white space normalised to single spaces (ModeCreds).
	Status map[string]string `json:"status,omitempty"`
	// Open is the outcome of opening the file named by ModeCreds.
	Open string `json:"open,omitempty"`
	// Arg0 is os.Args[0]; Nice, Umask (octal, as /proc/self/status
	// prints it), Rlimits (soft and hard by RLIMIT_ name) and
	// OOMScoreAdj are the Linux attributes, PriorityClass the Windows
	// one (ModeAttrs), Cwd its working directory.
	Cwd           string               `json:"cwd,omitempty"`
	Arg0          string               `json:"arg0,omitempty"`
	Nice          *int                 `json:"nice,omitempty"`
	Umask         string               `json:"umask,omitempty"`
	Rlimits       map[string][2]uint64 `json:"rlimits,omitempty"`
	OOMScoreAdj   *int                 `json:"oom_score_adj,omitempty"`
	PriorityClass uint32               `json:"priority_class,omitempty"`
	// Err is set when the helper could not find out what it reports.
	Err string `json:"err,omitempty"`
}

// DecodedArgs returns the arguments of a ModeArgv report.
func (r Report) DecodedArgs() ([]string, error) {
	out := make([]string, 0, len(r.Args))
	for _, a := range r.Args {
		b, err := hex.DecodeString(a)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

// ParseReports decodes the reports in a helper's output, one per line.
func ParseReports(out []byte) ([]Report, error) {
	var reps []Report
	for _, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		var r Report
		if err := json.Unmarshal([]byte(ln), &r); err != nil {
			return nil, fmt.Errorf("report %q: %w", ln, err)
		}
		reps = append(reps, r)
	}
	return reps, nil
}

// runSecurity runs one of the security helper modes.
func runSecurity(mode string, args []string) int {
	// ModeFds lists before anything here can open a descriptor.
	var fds map[string]string
	var inherited []int
	var fdErr error
	if mode == ModeFds {
		fds, inherited, fdErr = openFds()
	}
	r := Report{Pid: os.Getpid(), Ppid: os.Getppid()}
	switch mode {
	case ModeFds:
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "testchild: fds needs a label")
			return 2
		}
		r.Label, r.Fds, r.Inherited = args[0], fds, inherited
		if fdErr != nil {
			r.Err = fdErr.Error()
		}
	case ModeArgv:
		r.Args = []string{}
		for _, a := range args {
			r.Args = append(r.Args, hex.EncodeToString([]byte(a)))
		}
	case ModeCreds:
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "testchild: creds needs a file to open")
			return 2
		}
		r.Status, r.Open = credStatus(), tryOpen(args[0])
	}
	if err := writeReport(r); err != nil {
		return 3
	}
	if mode != ModeFds {
		return 0
	}
	in := bufio.NewReader(os.Stdin)
	for _, op := range args[1:] {
		switch op {
		case "tree":
			cmd := Command(ModeFds, args[0]+"/grandchild")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "testchild: fds grandchild:", err)
				return 3
			}
		case "cat":
			if _, err := io.Copy(os.Stdout, in); err != nil {
				return 3
			}
		case "waitin":
			if _, err := in.ReadString('\n'); err != nil {
				return 3
			}
		default:
			fmt.Fprintln(os.Stderr, "testchild: fds: unknown op", op)
			return 2
		}
	}
	return 0
}

func writeReport(r Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

// credStatus picks the identity lines out of /proc/self/status.
func credStatus() map[string]string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	out := map[string]string{}
	for _, ln := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(ln, ":")
		switch {
		case !ok:
		case name == "Uid", name == "Gid", name == "Groups", name == "CapPrm", name == "CapEff":
			out[name] = strings.Join(strings.Fields(value), " ")
		}
	}
	return out
}

func tryOpen(path string) string {
	f, err := os.Open(path)
	switch {
	case err == nil:
		_ = f.Close()
		return "ok"
	case errors.Is(err, syscall.EACCES):
		return "EACCES"
	}
	return err.Error()
}
