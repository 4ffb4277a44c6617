//go:build linux

package proc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
)

// The owner-death window of pgid (issue 13): a process group is
// registered with the owner-death watchdog only once its leader has
// started, so an owner killed between the fork and the registration
// leaked the whole group. The child now carries a parent-death signal
// (SIGKILL) from its fork until the registration.

// helperWindowOwner is an owner that starts pgid runs of ModeSleep, with
// the marker in its first argument, one after another until it is
// killed. It prints "looping" before the first.
const helperWindowOwner = "windowowner"

func init() { helpers[helperWindowOwner] = runWindowOwner }

func runWindowOwner(args []string) int {
	if len(args) != 1 {
		return 2
	}
	ctx := context.Background()
	b := pgid.New()
	fmt.Println("looping")
	for {
		if _, err := child(testchild.ModeSleep, args[0]).Backend(b).Start(ctx); err != nil {
			return helperFail("Start: %v", err)
		}
	}
}

// ownerDeathWindow runs trials of: start a window owner, SIGKILL it 0-30
// ms after it says it is looping, and wait until none of its sleepers is
// alive (a zombie counts as dead), up to 2 s, the bound every owner-death
// test uses. Sleepers still alive then are survivors: they are killed,
// counted and reported. It returns the number of survivors.
func ownerDeathWindow(t *testing.T, trials int) int {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	mark := "owner-window-" + hex.EncodeToString(rnd[:])
	survivors := 0
	began := time.Now()
	for trial := range trials {
		h := testchild.StartHelper(t, helperWindowOwner, mark)
		if line, err := h.Out.ReadString('\n'); err != nil || line != "looping\n" {
			h.Fail(t, "window owner said %q, %v", line, err)
		}
		time.Sleep(time.Duration(mrand.IntN(30_001)) * time.Microsecond)
		if err := h.Cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = h.Wait()
		killed := time.Now()
		var left []int
		for {
			left = marked(mark)
			if len(left) == 0 || time.Since(killed) > 2*time.Second {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if len(left) > 0 {
			survivors += len(left)
			t.Errorf("trial %d: %d sleeper(s) %v outlived their owner by 2 s", trial, len(left), left)
			testchild.KillPids(left...)
			testchild.WaitDead(t, patience, left...)
		}
	}
	t.Logf("%d trials in %v: %d survivor(s)", trials, time.Since(began).Round(time.Millisecond), survivors)
	return survivors
}

// marked lists the live processes whose command line has mark as an
// argument.
func marked(mark string) []int {
	want := []byte("\x00" + mark + "\x00")
	pids, _ := sysproc.Pids()
	var out []int
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		if err == nil && bytes.Contains(b, want) && sysproc.Alive(p) {
			out = append(out, p)
		}
	}
	return out
}

// An owner SIGKILLed while it starts pgid runs leaves none of them alive.
// The stress tier runs 200 trials (TestStressOwnerDeathWindow).
func TestOwnerDeathWindowLeavesNoPgidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("40 owner deaths take a few seconds; -short skips them")
	}
	ownerDeathWindow(t, 40)
}

func TestStressOwnerDeathWindow(t *testing.T) {
	stressOnly(t)
	ownerDeathWindow(t, 200)
}
