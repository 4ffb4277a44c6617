package proctest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// patience bounds every wait of a test; nothing here should take long.
const patience = 10 * time.Second

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// fakeTB records what a double reports to its test without failing the
// real one.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	logs   []string
	fatal  bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Logs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.logs...)
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	panic(errFatal)
}

// fatalSignal is what a fakeTB's Fatalf panics with.
type fatalSignal struct{}

var errFatal = fatalSignal{}

func (f *fakeTB) Errors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

// catchFatal runs f, absorbing the panic a fakeTB's Fatalf makes.
func catchFatal(f func()) {
	defer func() {
		if v := recover(); v != nil && v != any(errFatal) {
			panic(v)
		}
	}()
	f()
}
