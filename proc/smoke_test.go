package proc_test

import (
	"testing"
	"time"

	"github.com/gotether/tether/contain"
)

func TestSmokeOutput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		r, err := script("out", "hello\n", "err", "oops", "exit", "3").Backend(b).Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome.String() != "exited" || r.ExitCode != 3 || string(r.Stdout) != "hello\n" || string(r.Stderr) != "oops" || r.Mechanism != b.Mechanism() {
			t.Fatalf("%+v", r)
		}
		began := time.Now()
		r, err = script("hold", "out", "x", "block").Timeout(300 * time.Millisecond).Backend(b).Output(ctxFor(t, patience))
		t.Logf("timeout run returned after %v: %v %+v", time.Since(began), err, r.Outcome)
	})
}
