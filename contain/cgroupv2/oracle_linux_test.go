//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
)

// containerd's cgroup2 package wrote this backend's limits until its
// dependencies (protobuf, cilium/ebpf, logrus) were found to cost more
// of tether's start-up than the writes were worth. It stays as the
// oracle of these tests, and only of tests: cmd/tether's
// TestNoHeavyDependencies keeps it out of the binary.

// limitFiles are the interface files the limits are written to.
var limitFiles = []string{"memory.max", "memory.swap.max", "pids.max", "cpu.max"}

// oracleResources is the request for containerd's Manager.Update that
// means the limits ls: the mapping this backend used while containerd
// wrote its limits. swap says whether memory.swap.max exists (without
// swap accounting there was nothing to forbid, and no swap was asked).
func oracleResources(ls []contain.Limit, swap bool) *cgroup2.Resources {
	res := &cgroup2.Resources{}
	for _, l := range ls {
		switch l.Kind {
		case contain.MemoryLimit:
			maxBytes, noSwap := int64(l.Value), int64(0)
			res.Memory = &cgroup2.Memory{Max: &maxBytes}
			if swap {
				res.Memory.Swap = &noSwap
			}
		case contain.ProcessLimit:
			res.Pids = &cgroup2.Pids{Max: int64(l.Value)}
		case contain.CPULimit:
			quota, period := cpuMax(l.Value)
			res.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
		}
	}
	return res
}

// readLimitFiles reads the limit files of dir: what each holds, or the
// error's text where reading fails (an absent file: no controller).
func readLimitFiles(dir string) map[string]string {
	out := make(map[string]string, len(limitFiles))
	for _, f := range limitFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			out[f] = "unreadable: " + strings.ReplaceAll(err.Error(), dir, "DIR")
			continue
		}
		out[f] = string(b)
	}
	return out
}

// oracleCases are limit sets at the edges of what Validate lets through
// and what cpuMax turns into a longer period.
var oracleCases = [][]contain.Limit{
	{contain.MemoryMax(32 << 20)},
	{contain.MemoryMax(1)},
	{contain.MemoryMax(1<<62 - 1)},
	{contain.MaxProcesses(1)},
	{contain.MaxProcesses(4194304)},
	{contain.CPUQuota(contain.MinCPUQuota)},
	{contain.CPUQuota(0.0099)},
	{contain.CPUQuota(0.5)},
	{contain.CPUQuota(3.14159)},
	{contain.CPUQuota(1 << 20)},
	{contain.CPUQuota(0.5), contain.MaxProcesses(24), contain.MemoryMax(64 << 20)},
}

// TestLimitWritesMatchContainerd: for every case, with and without
// memory.swap.max, the files this backend writes into a cgroup laid out
// in an ordinary directory (every controller enabled in the parent) hold
// what containerd's Update writes for the same request, byte for byte,
// and no other file is written. Runs on any host: no kernel involved.
func TestLimitWritesMatchContainerd(t *testing.T) {
	for _, ls := range oracleCases {
		for _, swap := range []bool{true, false} {
			// Ours: a parent with the controllers, a leaf with the files.
			parent := t.TempDir()
			for _, f := range []string{"cgroup.controllers", "cgroup.subtree_control"} {
				if err := os.WriteFile(filepath.Join(parent, f), []byte("cpu memory pids\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ours := filepath.Join(parent, "leaf")
			if err := os.Mkdir(ours, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range limitFiles {
				if f == "memory.swap.max" && !swap {
					continue
				}
				if err := os.WriteFile(filepath.Join(ours, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := site{h: hierarchy{mountpoint: "/nonexistent"}, parentDir: parent}
			res, err := s.resources(ls)
			if err != nil {
				t.Fatalf("resources(%v): %v", ls, err)
			}
			if err := writeLimits(ours, res); err != nil {
				t.Fatalf("writeLimits(%v): %v", ls, err)
			}

			// containerd's: an empty leaf, where its writes create the files.
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "leaf"), 0o755); err != nil {
				t.Fatal(err)
			}
			mgr, err := cgroup2.Load("/leaf", cgroup2.WithMountpoint(root))
			if err != nil {
				t.Fatal(err)
			}
			if err := mgr.Update(oracleResources(ls, swap)); err != nil {
				t.Fatalf("containerd's Update(%v): %v", ls, err)
			}

			want := map[string]string{}
			entries, err := os.ReadDir(filepath.Join(root, "leaf"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				want[e.Name()] = mustRead(t, filepath.Join(root, "leaf", e.Name()))
			}
			got := map[string]string{}
			for _, f := range limitFiles {
				if b, err := os.ReadFile(filepath.Join(ours, f)); err == nil && len(b) > 0 {
					got[f] = string(b)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("limits %v, swap file %v: files differ from containerd's (-containerd +ours):\n%s", ls, swap, d)
			}
		}
	}
}

// TestWriteLimitsFailureNamesTheLimit: a write that fails stops the
// writes and is a *contain.LimitError naming the limit it was for,
// matching ErrUnsupported, with the file in its reason; an absent
// memory.swap.max (no swap accounting) is no failure.
func TestWriteLimitsFailureNamesTheLimit(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"memory.max", "cpu.max"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mem, pids, cpu := contain.MemoryMax(1<<20), contain.MaxProcesses(8), contain.CPUQuota(1)
	res := []limitWrite{
		{limit: mem, file: "memory.max", value: "1048576"},
		{limit: mem, file: "memory.swap.max", value: "0", ifPresent: true},
		{limit: pids, file: "pids.max", value: "8"},
		{limit: cpu, file: "cpu.max", value: "100000 100000"},
	}
	err := writeLimits(dir, res)
	var le *contain.LimitError
	if !errors.As(err, &le) || !errors.Is(err, contain.ErrUnsupported) || le.Limit != pids || le.Mechanism != contain.CgroupV2 ||
		!strings.Contains(le.Reason, "writing the limits failed") || !strings.Contains(le.Reason, "pids.max") {
		t.Fatalf("writeLimits without pids.max = %v, want a LimitError for %v matching ErrUnsupported, naming pids.max", err, pids)
	}
	if got := mustRead(t, filepath.Join(dir, "memory.max")); got != "1048576" {
		t.Errorf("memory.max = %q, want it written before the failure", got)
	}
	if got := mustRead(t, filepath.Join(dir, "cpu.max")); got != "" {
		t.Errorf("cpu.max = %q: written after the failed write", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("memory.swap.max was created: %v", err)
	}
}

// agreesWithContainerd checks the limits ls that NewContainer or Sub
// wrote into c's cgroup with containerd's cgroup2 package: its Stat of
// the cgroup reports the memory limit (page-rounded, as the kernel keeps
// it), no swap, and the pids limit; and a twin cgroup next to c's, given
// the same limits by containerd's Update, reads back the same in every
// limit file (cpu.max included, which Stat does not report).
func agreesWithContainerd(t *testing.T, c contain.Container, ls ...contain.Limit) {
	t.Helper()
	cc := c.(*container)
	mnt := cc.h.mountpoint
	mgr, err := cgroup2.Load(strings.TrimPrefix(cc.dir, mnt), cgroup2.WithMountpoint(mnt))
	if err != nil {
		t.Fatalf("containerd's Load of %s: %v", cc.dir, err)
	}
	st, err := mgr.Stat()
	if err != nil {
		t.Fatalf("containerd's Stat of %s: %v", cc.dir, err)
	}
	_, serr := os.Stat(filepath.Join(cc.dir, "memory.swap.max"))
	swap := serr == nil
	page := uint64(os.Getpagesize())
	for _, l := range ls {
		switch l.Kind {
		case contain.MemoryLimit:
			if want := uint64(l.Value) / page * page; st.Memory.GetUsageLimit() != want {
				t.Errorf("containerd's Stat: memory limit %d, want %d (%v)", st.Memory.GetUsageLimit(), want, l)
			}
			if swap && st.Memory.GetSwapLimit() != 0 {
				t.Errorf("containerd's Stat: swap limit %d, want 0", st.Memory.GetSwapLimit())
			}
		case contain.ProcessLimit:
			if st.Pids.GetLimit() != uint64(l.Value) {
				t.Errorf("containerd's Stat: pids limit %d, want %v", st.Pids.GetLimit(), l.Value)
			}
		}
	}

	twin := filepath.Join(filepath.Dir(cc.dir), "tether-"+strconv.Itoa(os.Getpid())+"-oracle")
	if err := os.Mkdir(twin, 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := removeTree(twin); err != nil {
			t.Errorf("removing the twin cgroup: %v", err)
		}
	}()
	tm, err := cgroup2.Load(strings.TrimPrefix(twin, mnt), cgroup2.WithMountpoint(mnt))
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.Update(oracleResources(ls, swap)); err != nil {
		t.Fatalf("containerd's Update of the twin with %v: %v", ls, err)
	}
	got, want := readLimitFiles(cc.dir), readLimitFiles(twin)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("limits %v: the kernel reads back differently from containerd's twin (-containerd +ours):\n%s", ls, d)
	}
	t.Logf("containerd agrees on %v: %q", ls, got)
}

// TestLimitAgreesWithContainerd runs the oracle over every case, in
// containers and in subs of one container.
func TestLimitAgreesWithContainerd(t *testing.T) {
	b := usable(t)
	if ok, why := limitsHere(b); !ok {
		t.Skipf("the limits need the memory, pids and cpu controllers, not available here (%s); make test-vm runs this test in a pure cgroup v2 VM", why)
	}
	for _, ls := range oracleCases {
		agreesWithContainerd(t, newContainer(t, b, ls...), ls...)
	}
	all := oracleCases[len(oracleCases)-1]
	p := newContainer(t, b, all...)
	for _, ls := range oracleCases {
		s, err := p.Sub(context.Background(), contain.Options{Limits: ls})
		if err != nil {
			t.Fatalf("Sub with %v: %v", ls, err)
		}
		agreesWithContainerd(t, s, ls...)
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLimitRefusedByTheKernel: a value the kernel refuses (pids.max
// above its 4194304 pid limit: EINVAL) fails NewContainer and Sub with a
// *contain.LimitError naming that limit, not the first one given, and
// leaves no cgroup. containerd's Update of the same request fails too.
func TestLimitRefusedByTheKernel(t *testing.T) {
	b := usable(t)
	if ok, why := limitsHere(b); !ok {
		t.Skipf("the limits need the memory, pids and cpu controllers, not available here (%s); make test-vm runs this test in a pure cgroup v2 VM", why)
	}
	ctx := context.Background()
	tooMany := contain.MaxProcesses(1 << 23)
	ls := []contain.Limit{contain.MemoryMax(32 << 20), tooMany}
	check := func(what string, err error) {
		t.Helper()
		var le *contain.LimitError
		if !errors.As(err, &le) || !errors.Is(err, contain.ErrUnsupported) || le.Limit != tooMany ||
			!strings.Contains(le.Reason, "pids.max") || !strings.Contains(le.Reason, "invalid argument") {
			t.Fatalf("%s with %v = %v, want a LimitError for %v matching ErrUnsupported, the kernel's EINVAL on pids.max in its reason", what, ls, err, tooMany)
		}
		t.Logf("%s: %v", what, err)
	}
	_, err := b.NewContainer(ctx, contain.Options{Limits: ls})
	check("NewContainer", err)
	p := newContainer(t, b, contain.MemoryMax(64<<20), contain.MaxProcesses(24))
	_, err = p.Sub(ctx, contain.Options{Limits: ls})
	check("Sub", err)
	if d := nestedDirs(t, dirOf(p)); len(d) != 0 {
		t.Fatalf("the refused Sub left cgroups: %v", d)
	}

	mnt := p.(*container).h.mountpoint
	twin := filepath.Join(dirOf(p), "oracle")
	if err := os.Mkdir(twin, 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = removeTree(twin) }()
	tm, err := cgroup2.Load(strings.TrimPrefix(twin, mnt), cgroup2.WithMountpoint(mnt))
	if err != nil {
		t.Fatal(err)
	}
	_, serr := os.Stat(filepath.Join(twin, "memory.swap.max"))
	if err := tm.Update(oracleResources(ls, serr == nil)); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("containerd's Update with %v = %v, want the kernel's EINVAL too", ls, err)
	}
}
