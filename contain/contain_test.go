package contain_test

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
)

func TestLimitValidation(t *testing.T) {
	for _, tc := range []struct {
		l  contain.Limit
		ok bool
	}{
		{contain.MemoryMax(64 << 20), true},
		{contain.MaxProcesses(1), true},
		{contain.CPUQuota(0.5), true},
		{contain.CPUQuota(contain.MinCPUQuota), true},
		{contain.MemoryMax(0), false},
		{contain.MemoryMax(-1), false},
		{contain.MaxProcesses(0), false},
		{contain.MaxProcesses(-2), false},
		{contain.CPUQuota(0), false},
		{contain.CPUQuota(-0.5), false},
		{contain.CPUQuota(contain.MinCPUQuota / 2), false},
		{contain.CPUQuota(math.NaN()), false},
		{contain.CPUQuota(math.Inf(1)), false},
		{contain.Limit{Kind: contain.ProcessLimit, Value: 1.5}, false},
		{contain.Limit{Kind: "bogus", Value: 1}, false},
		{contain.Limit{}, false},
	} {
		err := tc.l.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("%v: Validate = %v", tc.l, err)
			continue
		}
		var le *contain.LimitError
		if err != nil && (!errors.Is(err, contain.ErrInvalidLimit) || !errors.As(err, &le) || le.Limit.Kind != tc.l.Kind) {
			t.Errorf("%v: error %v does not match ErrInvalidLimit with the limit", tc.l, err)
		}
	}
}

func TestValidateLimitsRejectsDuplicates(t *testing.T) {
	err := contain.ValidateLimits([]contain.Limit{contain.MaxProcesses(3), contain.MaxProcesses(4)})
	if !errors.Is(err, contain.ErrInvalidLimit) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("got %v", err)
	}
	if err := contain.ValidateLimits(nil); err != nil {
		t.Fatalf("no limits: %v", err)
	}
}

func TestRejectLimitsValidatesFirst(t *testing.T) {
	if err := contain.RejectLimits(contain.PGID, "no limits", nil); err != nil {
		t.Fatalf("no limits: %v", err)
	}
	err := contain.RejectLimits(contain.PGID, "no limits", []contain.Limit{contain.MemoryMax(-1)})
	if !errors.Is(err, contain.ErrInvalidLimit) || errors.Is(err, contain.ErrUnsupported) {
		t.Fatalf("invalid limit: %v", err)
	}
	err = contain.RejectLimits(contain.PGID, "process groups cannot", []contain.Limit{contain.MemoryMax(1 << 20)})
	var le *contain.LimitError
	if !errors.Is(err, contain.ErrUnsupported) || !errors.As(err, &le) || le.Mechanism != contain.PGID {
		t.Fatalf("valid limit: %v", err)
	}
	if want := "contain: pgid cannot enforce memory max 1048576 bytes: process groups cannot"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []error
	}{
		{contain.Unsupported(contain.JobObject, "freeze", "why"), []error{contain.ErrUnsupported, errors.ErrUnsupported}},
		{&contain.NotUsableError{Mechanism: contain.CgroupV2, Reason: "r"}, []error{contain.ErrNotUsable}},
		{&contain.NoSuchProcessError{Pid: 7}, []error{contain.ErrNoSuchProcess}},
		{&contain.TeardownError{Mechanism: contain.PGID, Remaining: []int{1}, Err: context.DeadlineExceeded},
			[]error{contain.ErrTeardownNotConfirmed, context.DeadlineExceeded}},
	} {
		for _, w := range tc.want {
			if !errors.Is(tc.err, w) {
				t.Errorf("%v does not match %v", tc.err, w)
			}
		}
	}
	if errors.Is(contain.ErrNotUsable, contain.ErrUnsupported) {
		t.Error("ErrNotUsable must not match ErrUnsupported")
	}
}

func TestOptionalSaysUnavailable(t *testing.T) {
	var none contain.Optional[time.Duration]
	if _, ok := none.Get(); ok || none.String() != "unavailable" {
		t.Fatalf("zero Optional: %v", none)
	}
	some := contain.Some(3 * time.Second)
	if v, ok := some.Get(); !ok || v != 3*time.Second || some.String() != "3s" {
		t.Fatalf("Some: %v", some)
	}
}

func TestAvailabilityLimitsSupported(t *testing.T) {
	a := contain.Availability{}
	if a.LimitsSupported() {
		t.Fatal("no limit information must not read as supported")
	}
	a.Limits = []contain.LimitSupport{{Kind: contain.MemoryLimit, Supported: true}, {Kind: contain.CPULimit}}
	if a.LimitsSupported() {
		t.Fatal("one unsupported kind must make the whole unsupported")
	}
}

// A backend's Start changes a copy of the caller's SysProcAttr, never
// the caller's own, which other commands may share.
func TestCopySysProcAttrNeverAliases(t *testing.T) {
	cmd := exec.Command("x")
	if a := contain.CopySysProcAttr(cmd); a == nil || cmd.SysProcAttr != nil {
		t.Fatalf("nil SysProcAttr: copy %v, cmd's now %v; want a fresh one and cmd's left nil", a, cmd.SysProcAttr)
	}
	shared := &syscall.SysProcAttr{}
	cmd.SysProcAttr = shared
	a := contain.CopySysProcAttr(cmd)
	if a == shared || !reflect.DeepEqual(a, shared) {
		t.Fatalf("copy %p of %p: want an equal value at another address", a, shared)
	}
}

// UnsupportedLimits answers once for every kind, none supported, each
// with the reason, as the conformance suite wants of Availability.
func TestUnsupportedLimitsAnswersEveryKind(t *testing.T) {
	ls := contain.UnsupportedLimits("why")
	if len(ls) != len(contain.AllLimitKinds) {
		t.Fatalf("%d answers for %d kinds", len(ls), len(contain.AllLimitKinds))
	}
	for i, l := range ls {
		if l.Kind != contain.AllLimitKinds[i] || l.Supported || l.Reason != "why" {
			t.Errorf("answer %d = %+v", i, l)
		}
	}
	if (contain.Availability{Limits: ls}).LimitsSupported() {
		t.Error("LimitsSupported with every kind unsupported")
	}
}
