//go:build linux

package watchdog_test

import (
	"context"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/internal/watchdog"
)

func runLauncher(args []string) int {
	env := append(os.Environ(), "TETHER_WATCHDOG_PROTOCOL=1")
	p, err := os.StartProcess("/proc/self/exe", []string{"tether-watchdog"}, &os.ProcAttr{Dir: "/", Env: env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, os.NewFile(3, "p")}, Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		return 3
	}
	_ = p.Release()
	return 0
}

func TestMeasureStart(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	const n = 60
	var direct, launch []time.Duration
	for range n {
		ctx := context.Background()
		_ = watchdog.Stop(ctx)
		t0 := time.Now()
		if err := watchdog.Start(); err != nil {
			t.Fatal(err)
		}
		direct = append(direct, time.Since(t0))
		_ = watchdog.Stop(ctx)

		null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		t0 = time.Now()
		r, w, _ := os.Pipe()
		env := append(os.Environ(), "TETHER_TESTCHILD_MODE=launcher")
		p, err := os.StartProcess("/proc/self/exe", []string{"x"}, &os.ProcAttr{Dir: "/", Env: env, Files: []*os.File{null, null, null, r}})
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Close()
		st, _ := p.Wait()
		launch = append(launch, time.Since(t0))
		if !st.Success() {
			t.Fatal(st)
		}
		_ = w.Close()
		null.Close()
		time.Sleep(20 * time.Millisecond)
	}
	med := func(d []time.Duration) (time.Duration, time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2], d[len(d)*9/10]
	}
	m1, p1 := med(direct)
	m2, p2 := med(launch)
	t.Logf("direct child + reaper: median %v p90 %v; launcher: median %v p90 %v", m1, p1, m2, p2)
}
