package proc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
)

// WaitAny waits until one of ps has ended and returns its index and what
// its Wait returns. If ctx ends first it returns -1 and ctx's error,
// leaving every process running. With no process it returns -1 and an
// *InvalidError.
func WaitAny(ctx context.Context, ps ...*RunningProcess) (int, *Result, error) {
	if ctx == nil {
		return -1, nil, nilContext("", "WaitAny")
	}
	if len(ps) == 0 {
		return -1, nil, &InvalidError{Reason: "WaitAny needs at least one process"}
	}
	for i, p := range ps {
		if p == nil {
			return -1, nil, &InvalidError{Reason: fmt.Sprintf("WaitAny: process %d is nil", i)}
		}
	}
	cases := make([]reflect.SelectCase, 0, len(ps)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, p := range ps {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(p.Done())})
	}
	chosen, _, _ := reflect.Select(cases)
	if chosen == 0 {
		return -1, nil, ctx.Err()
	}
	i := chosen - 1
	r, err := ps[i].Wait(context.Background())
	return i, r, err
}

// WaitAll waits until every one of ps has ended and returns their Results
// in the order given, and the errors their Waits returned, joined (each
// wrapped with its index). If ctx ends first it returns the Results of the
// runs that had ended (nil for the others) and ctx's error, leaving the
// rest running.
func WaitAll(ctx context.Context, ps ...*RunningProcess) ([]*Result, error) {
	if ctx == nil {
		return nil, nilContext("", "WaitAll")
	}
	out := make([]*Result, len(ps))
	var errs []error
	for i, p := range ps {
		if p == nil {
			return nil, &InvalidError{Reason: fmt.Sprintf("WaitAll: process %d is nil", i)}
		}
	}
	for i, p := range ps {
		select {
		case <-p.Done():
		case <-ctx.Done():
			for j := i; j < len(ps); j++ {
				select {
				case <-ps[j].Done():
					out[j] = ps[j].report().result
				default:
				}
			}
			return out, ctx.Err()
		}
		r, err := p.Wait(context.Background())
		out[i] = r
		if err != nil {
			errs = append(errs, &IndexedError{Index: i, Err: err})
		}
	}
	return out, errors.Join(errs...)
}

// Completion is one finished command of OutputEach.
type Completion struct {
	// Index is the command's position in the input.
	Index  int
	Result *Result
	// Err is what Cmd.Output returned for it.
	Err error
}

// OutputAll runs cmds with at most concurrency of them at a time (all at
// once if concurrency < 1) and returns their Results in input order. Each
// command runs through its own runner (Cmd.Runner: point them at a Group
// to share one), with Output's meaning: a non-zero exit is data. The error
// joins the errors of the commands that had one, each as an
// *IndexedError; their Result may be nil (a start failure). When ctx ends,
// the running commands are killed (Output's cancellation) and the ones not
// yet started are not started: their Result is nil and their error matches
// ErrCancelled and ctx's error. A nil command is not run: its Result is nil
// and its error an *InvalidError.
func OutputAll(ctx context.Context, cmds []*Cmd, concurrency int) ([]*Result, error) {
	if ctx == nil {
		return nil, nilContext("", "OutputAll")
	}
	out := make([]*Result, len(cmds))
	var failed []*IndexedError
	for c := range OutputEach(ctx, cmds, concurrency) {
		out[c.Index] = c.Result
		if c.Err != nil {
			failed = append(failed, &IndexedError{Index: c.Index, Err: c.Err})
		}
	}
	// Completion order is not input order: join the errors in input
	// order.
	slices.SortFunc(failed, func(a, b *IndexedError) int { return a.Index - b.Index })
	errs := make([]error, len(failed))
	for i, e := range failed {
		errs[i] = e
	}
	return out, errors.Join(errs...)
}

// OutputEach runs cmds like OutputAll and yields each Completion as its
// command finishes, in completion order. If the consumer stops early, the
// commands not yet started are never started and the running ones are
// killed (their trees confirmed dead) before the loop statement returns.
// A finished command's slot is refilled at once, so the next command may
// already be starting while the loop body handles that completion; if
// the loop then stops, that command is one of the running ones. Every
// command is yielded exactly once when the loop runs to the end.
func OutputEach(ctx context.Context, cmds []*Cmd, concurrency int) iter.Seq[Completion] {
	return func(yield func(Completion) bool) {
		if len(cmds) == 0 {
			return
		}
		if ctx == nil {
			// Every command, once, as when each fails to start.
			for i := range cmds {
				if !yield(Completion{Index: i, Err: nilContext("", "OutputEach")}) {
					return
				}
			}
			return
		}
		if concurrency < 1 || concurrency > len(cmds) {
			concurrency = len(cmds)
		}
		// stop is closed when the consumer stops early; ctx ending is
		// not a stop: every command is still yielded, cancelled.
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := make(chan struct{})
		results := make(chan Completion)
		next := make(chan int)
		var wg sync.WaitGroup
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					// With runCtx ended, Output spawns nothing and
					// returns a Cancelled error at once.
					r, err := outputOne(runCtx, cmds, i)
					select {
					case results <- Completion{Index: i, Result: r, Err: err}:
					case <-stop:
					}
				}
			}()
		}
		go func() {
			defer close(next)
			for i := range cmds {
				select {
				case next <- i:
				case <-stop:
					return
				}
			}
		}()
		for range cmds {
			if !yield(<-results) {
				// Kill the running ones, start no more, and wait, so
				// that no run outlives the loop.
				cancel()
				close(stop)
				wg.Wait()
				return
			}
		}
		wg.Wait()
	}
}

// outputOne runs cmds[i]. A nil command is an invalid one: calling Output
// on it would panic in a worker goroutine, which no caller can recover.
func outputOne(ctx context.Context, cmds []*Cmd, i int) (*Result, error) {
	if cmds[i] == nil {
		return nil, &InvalidError{Reason: fmt.Sprintf("command %d is nil", i)}
	}
	return cmds[i].Output(ctx)
}
