package proctest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/proc"
)

// ErrUnexpected matches the error of a command that no rule of a Script
// expects (see *UnexpectedError).
var ErrUnexpected = errors.New("proctest: unexpected command")

// UnexpectedError reports a command that no rule of a Script matched.
// Error names the program and counts the arguments; Diff holds the
// comparison with the nearest rule (argument values included), which the
// Script also reports through its testing.TB.
type UnexpectedError struct {
	Program string
	Args    []string
	// Nearest describes the rule closest to the command ("" if the script
	// has none); Diff is cmp.Diff(rule, command) over program and
	// arguments.
	Nearest string
	Diff    string
}

func (e *UnexpectedError) Error() string {
	return "proctest: unexpected command " + strconv.Quote(e.Program) + " with " +
		strconv.Itoa(len(e.Args)) + " argument(s): no rule matches (UnexpectedError.Diff compares it with the nearest rule)"
}

// Unwrap returns ErrUnexpected.
func (e *UnexpectedError) Unwrap() error { return ErrUnexpected }

// Script is a proc.Runner that answers commands from rules instead of
// running them, like a scripted server in httptest. Rules are tried in
// the order they were added; the first that matches replies. A command
// no rule matches is answered by the fallback if there is one, and
// otherwise fails: the verb returns an *UnexpectedError and, if the
// Script has a testing.TB, the test fails with a cmp.Diff against the
// nearest rule.
//
// The zero Script is not usable; call NewScript. A Script is safe for
// concurrent use.
type Script struct {
	t        testing.TB
	mu       sync.Mutex
	rules    []*Rule
	fallback *Rule
}

// NewScript returns a Script with no rules. t, if not nil, is failed
// (Errorf) for each unexpected command; the verb returns the error in
// any case.
func NewScript(t testing.TB) *Script { return &Script{t: t} }

// Rule matches commands and replies to them, in order.
type Rule struct {
	desc    string
	want    []string // program and arguments, for the diff; nil for a predicate
	match   func(proc.Spec) bool
	replies []Reply
	calls   int
	mu      *sync.Mutex // the Script's
}

// On adds a rule for exactly this program and these arguments.
func (s *Script) On(program string, args ...string) *Rule {
	want := append([]string{program}, args...)
	return s.add(&Rule{desc: "On" + quoteWords(want), want: want, match: func(sp proc.Spec) bool {
		return slices.Equal(want, argv(sp))
	}})
}

// OnPrefix adds a rule for this program with arguments that begin with
// args (any arguments at all when args is empty).
func (s *Script) OnPrefix(program string, args ...string) *Rule {
	want := append([]string{program}, args...)
	return s.add(&Rule{desc: "OnPrefix" + quoteWords(want), want: want, match: func(sp proc.Spec) bool {
		got := argv(sp)
		return len(got) >= len(want) && slices.Equal(want, got[:len(want)])
	}})
}

// OnFunc adds a rule for the commands match accepts. desc names the rule
// in failure messages.
func (s *Script) OnFunc(desc string, match func(proc.Spec) bool) *Rule {
	return s.add(&Rule{desc: "OnFunc(" + strconv.Quote(desc) + ")", match: match})
}

// Fallback answers every command that no rule matches with replies (in
// order, the last repeating), instead of failing.
func (s *Script) Fallback(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = &Rule{desc: "Fallback", replies: replies, mu: &s.mu}
}

func (s *Script) add(r *Rule) *Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu = &s.mu
	s.rules = append(s.rules, r)
	return r
}

// Reply sets what the rule answers: the first matching command gets the
// first reply, the next the second, and the last repeats. A rule without
// replies exits 0 with no output. It returns r.
func (r *Rule) Reply(replies ...Reply) *Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, replies...)
	return r
}

// Calls returns how many commands the rule has answered so far.
func (r *Rule) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// next picks the rule's reply for one more call. The Script's mutex is
// held.
func (r *Rule) next() Reply {
	r.calls++
	if len(r.replies) == 0 {
		return Stdout("")
	}
	return r.replies[min(r.calls, len(r.replies))-1]
}

// Output answers c from the rules and returns once the scripted run has
// ended, as proc.Cmd.Output does.
func (s *Script) Output(ctx context.Context, c *proc.Cmd) (*proc.Result, error) {
	rep, err := s.answer(c)
	if err != nil {
		return nil, err
	}
	return playOutput(ctx, c, rep)
}

// Start answers c from the rules with a RunningProcess driven by a
// proc.FakeProcess.
func (s *Script) Start(ctx context.Context, c *proc.Cmd) (*proc.RunningProcess, error) {
	rep, err := s.answer(c)
	if err != nil {
		return nil, err
	}
	return play(ctx, c, rep)
}

// answer picks the reply to c, or fails as an unexpected command.
func (s *Script) answer(c *proc.Cmd) (Reply, error) {
	if err := c.Validate(); err != nil {
		return Reply{}, err
	}
	sp := c.Spec()
	rep, e := s.reply(sp)
	if e != nil {
		s.report(sp, e)
		return Reply{}, e
	}
	return rep, nil
}

func (s *Script) reply(sp proc.Spec) (Reply, *UnexpectedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if r.match(sp) {
			return r.next(), nil
		}
	}
	if s.fallback != nil {
		return s.fallback.next(), nil
	}
	e := &UnexpectedError{Program: sp.Name, Args: slices.Clone(sp.Args)}
	if r := nearest(s.rules, argv(sp)); r != nil {
		e.Nearest = r.desc
		want := r.want
		if want == nil {
			want = []string{}
		}
		e.Diff = cmp.Diff(want, argv(sp))
	}
	return Reply{}, e
}

// report fails the test, if the Script has one, for an unexpected
// command.
func (s *Script) report(sp proc.Spec, e *UnexpectedError) {
	if s.t != nil {
		s.t.Helper()
		if e.Nearest == "" {
			s.t.Errorf("proctest: unexpected command %s: the script has no rules", quoteWords(argv(sp)))
		} else {
			s.t.Errorf("proctest: unexpected command %s\nnearest rule: %s\ndiff (-rule +command):\n%s",
				quoteWords(argv(sp)), e.Nearest, e.Diff)
		}
	}
}

// nearest is the rule most like the command: the same program first,
// then the longest common prefix of arguments, then the closest count.
func nearest(rules []*Rule, got []string) *Rule {
	var best *Rule
	bestScore := -1 << 30
	for _, r := range rules {
		score := -1000 // a predicate rule is the last resort
		if r.want != nil {
			score = similarity(r.want, got)
		}
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	return best
}

// similarity scores how alike two command lines are.
func similarity(want, got []string) int {
	score := 0
	if len(want) > 0 && len(got) > 0 && want[0] == got[0] {
		score += 1000
	}
	for i := 1; i < len(want) && i < len(got) && want[i] == got[i]; i++ {
		score += 10
	}
	d := len(want) - len(got)
	if d < 0 {
		d = -d
	}
	return score - d
}

func argv(sp proc.Spec) []string { return append([]string{sp.Name}, sp.Args...) }

// quoteWords prints a command line as Go string literals: ("git", "status").
func quoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// String describes the rule as it was declared: On("git", "status").
func (r *Rule) String() string { return r.desc }
