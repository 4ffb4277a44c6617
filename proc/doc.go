// Package proc runs child processes so that nothing they spawn outlives
// the run, and says which kernel mechanism held the tree.
//
// A Cmd is an immutable spec; its verbs run it:
//
//	out, err := proc.Command("git", "rev-parse", "HEAD").Run(ctx)      // trimmed stdout, must succeed
//	res, err := proc.Command("make", "-j8").Timeout(time.Minute).Output(ctx) // a Result; failure is data
//	ok, err := proc.Command("grep", "-q", "x", "f").Probe(ctx)        // exit 0 true, 1 false
//
// Every run gets a fresh container (contain.Container) before the spawn,
// and the child is placed in it atomically. The run ends when the direct
// child exits, its timeout fires or its context ends; then the whole tree
// is killed and its death confirmed, the pipes drain to EOF, and only then
// does the verb return. A grandchild that holds stdout does not delay the
// return: it is killed with the tree.
//
// Like os/exec, proc involves no shell: arguments reach the program
// exactly as given, and the program is looked up in PATH (a match in the
// current directory through a relative PATH entry is refused, as
// exec.ErrDot describes). os/exec's CombinedOutput is
// Stderr(ToStdout()).Output (one pipe for both streams, in write order),
// its StdoutPipe is Stdout(ToReader()) with RunningProcess.StdoutReader,
// and an *os.File given to Stdin is the child's stdin itself, as there.
// RunningProcess.Status is a snapshot of a live run (go-cmd's Status).
//
// Errors: ErrNotFound, ErrStart, ErrInvalid, ErrExit, ErrTimeout,
// ErrCancelled, ErrOutputTooLarge, ErrTeardownNotConfirmed and
// ErrUnsupported for errors.Is; *ExitError, *NotFoundError, *StartError,
// *DirError and *InvalidError for errors.As. Error text never contains
// argument or environment values, the working directory or output, except
// an *ExitError's bounded, escaped preview of the output's tail.
//
// The default backend is the host's (contain/host). Choose one explicitly
// with Cmd.Backend or NewRunner; an explicit choice never falls back.
package proc
