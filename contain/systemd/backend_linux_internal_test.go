//go:build linux

package systemd

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
)

// These run anywhere: the parts of the backend that need no systemd.

func TestUnitWordKeepsUnitNamesValid(t *testing.T) {
	for in, want := range map[string]string{
		"tether":                "tether",
		"systemd.test":          "systemd.test",
		"my-tool":               "my_tool",
		"a b/c\\d:e@f":          "a_b_c_d_e_f",
		"":                      "_",
		"é":                     "__",
		strings.Repeat("x", 80): strings.Repeat("x", 64),
	} {
		if got := unitWord(in); got != want {
			t.Errorf("unitWord(%q) = %q, want %q", in, got, want)
		}
	}
	name, err := scopeName()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "tether-" + unitWord(os.Args[0][strings.LastIndex(os.Args[0], "/")+1:]) + "-" + strconv.Itoa(os.Getpid()) + "-"
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".scope") || len(name) != len(prefix)+8+len(".scope") {
		t.Fatalf("scope name %q, want %s<8 hex>.scope", name, prefix)
	}
}

// The owner moves into the scope only when it is not root and its own
// cgroup is outside the user manager's tree: then the nearest common
// ancestor of its cgroup and the scope's belongs to root.
func TestMustMoveOnlyAUserOutsideItsManager(t *testing.T) {
	user := manager{user: true, uid: 1000}
	mgr := "/user.slice/user-1000.slice/user@1000.service"
	for _, tc := range []struct {
		m    manager
		own  string
		want bool
	}{
		{user, "/user.slice/user-1000.slice/session-2.scope", true},
		{user, "/system.slice/ssh.service", true},
		{user, mgr + "/app.slice/app-term.scope", false},
		{user, mgr, false},
		{user, "/user.slice/user-1000.slice/user@1000.service2/x", true}, // a prefix, not a parent
		{manager{}, "/system.slice/ci.service", false},                   // root is never moved
	} {
		if got := mustMove(tc.m, tc.own, mgr); got != tc.want {
			t.Errorf("mustMove(%v, %s) = %v, want %v", tc.m, tc.own, got, tc.want)
		}
	}
	if !within("/a/b", "/") || within("/ab", "/a") || !within("/a", "/a") {
		t.Error("within compares whole path elements")
	}
}

// The user manager is looked for on the session bus address, then
// XDG_RUNTIME_DIR's bus, then the manager's private socket.
func TestUserManagerEndpointsInOrder(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/tmp/x/bus")
	t.Setenv("XDG_RUNTIME_DIR", "/tmp/rt")
	eps, err := manager{user: true, uid: 4242}.endpoints()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ep := range eps {
		got = append(got, ep.addr+" "+strconv.FormatBool(ep.bus))
	}
	want := "unix:path=/tmp/x/bus true|unix:path=/tmp/rt/bus true|unix:path=/tmp/rt/systemd/private false"
	if strings.Join(got, "|") != want {
		t.Fatalf("endpoints %q, want %q", got, want)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	// No uid has /run/user/<uid> for this one, so nothing is left to try.
	_, err = manager{user: true, uid: 2147480000}.endpoints()
	if err == nil || !strings.Contains(err.Error(), "no user manager for uid 2147480000") || !strings.Contains(err.Error(), "loginctl enable-linger") {
		t.Fatalf("err = %v, want one naming the missing user manager and lingering", err)
	}
	eps, err = manager{}.endpoints()
	if err != nil || len(eps) != 2 || eps[0].addr != "unix:path=/run/systemd/private" || !eps[1].bus {
		t.Fatalf("system manager endpoints %+v, %v", eps, err)
	}
}

// The typed errors of the cgroup machinery name this backend.
func TestRelabelNamesSystemd(t *testing.T) {
	le := &contain.LimitError{Limit: contain.MaxProcesses(4), Mechanism: contain.CgroupV2, Reason: "no pids controller", Err: contain.ErrUnsupported}
	if err := relabel(le); !strings.Contains(err.Error(), "contain: systemd cannot enforce max processes 4") {
		t.Errorf("limit error %q", err)
	}
	ne := &contain.NotUsableError{Mechanism: contain.CgroupV2, Reason: "gone"}
	if err := relabel(ne); !errors.Is(err, contain.ErrNotUsable) || ne.Mechanism != contain.Systemd {
		t.Errorf("not-usable error %v", err)
	}
}

// Off a systemd host (this project's machines) the backend says why it
// cannot be used and creates nothing; bad limits are refused first.
func TestWithoutSystemdAvailabilityAndNewContainerSayWhy(t *testing.T) {
	if Booted() {
		t.Skip("systemd is PID 1 here: the tests that need it run instead")
	}
	b := New()
	a := b.Availability()
	if a.Usable || a.Mechanism != contain.Systemd || !strings.Contains(a.Reason, "systemd is not PID 1 here (/run/systemd/system is absent)") || !a.ContainsSetsid {
		t.Fatalf("Availability: %+v", a)
	}
	_, err := b.NewContainer(context.Background(), contain.Options{})
	var ne *contain.NotUsableError
	if !errors.As(err, &ne) || ne.Mechanism != contain.Systemd || !errors.Is(err, contain.ErrNotUsable) {
		t.Fatalf("NewContainer: %v, want a *contain.NotUsableError of systemd", err)
	}
	if _, err := b.NewContainer(context.Background(), contain.Options{Limits: []contain.Limit{contain.MemoryMax(0)}}); !errors.Is(err, contain.ErrInvalidLimit) {
		t.Fatalf("NewContainer with a zero memory limit: %v, want ErrInvalidLimit", err)
	}
	if d := OwnDelegation(context.Background()); d.Delegated || !strings.Contains(d.Reason, "systemd is not PID 1") {
		t.Fatalf("OwnDelegation: %+v", d)
	}
	if _, ok := CurrentScope(); ok {
		t.Fatal("a scope was made")
	}
}
