//go:build linux

package proc_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// Under cgroup v2 the stages of one pipeline are sibling cgroups inside
// one chain cgroup.
func TestPipeStagesShareOneChainCgroup(t *testing.T) {
	b := cgroupv2.New()
	if a := b.Availability(); !a.Usable {
		t.Skip("cgroupv2 not usable here: " + a.Reason)
	}
	dir := testchild.TempDir(t)
	f0, f1 := filepath.Join(dir, "0"), filepath.Join(dir, "1")
	rp, err := onBackend(b, script("pids", f0, "block"), script("pids", f1, "block")).Start(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	p0 := testchild.ReadPidFile(t, f0, patience)["child"]
	p1 := testchild.ReadPidFile(t, f1, patience)["child"]
	c0, c1 := testchild.CgroupOf(t, p0), testchild.CgroupOf(t, p1)
	if c0 == c1 || path.Dir(c0) != path.Dir(c1) || !strings.HasPrefix(path.Base(path.Dir(c0)), "tether-") {
		t.Errorf("stage cgroups %q and %q are not siblings in one chain cgroup", c0, c1)
	}
	if err := rp.Kill(ctxFor(t, patience)); err != nil {
		t.Fatal(err)
	}
}

func TestPipeStagesMustShareABackend(t *testing.T) {
	for name, pl := range map[string]*proc.Pipeline{
		"backends": proc.Pipe(script("out", "x").Backend(cgroupv2.New()), script("cat").Backend(pgid.New())),
		"owner":    proc.Pipe(script("out", "x").Backend(pgid.New()), script("cat").Backend(pgid.New()).SurviveOwnerDeath()),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pl.Output(ctxFor(t, patience))
			var ie *proc.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err %v, want an InvalidError", err)
			}
		})
	}
}
