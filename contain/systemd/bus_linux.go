//go:build linux

package systemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// busTimeout bounds a connection to a manager and every call made on it, so
// that a bus that accepts but never answers makes Availability and
// NewContainer fail instead of hang.
const busTimeout = 15 * time.Second

// manager is the service manager that makes our scope: the system's when
// the owner is root, the user's own otherwise.
type manager struct {
	user bool
	uid  int
}

// ownManager is the manager for the calling process.
func ownManager() manager {
	uid := os.Geteuid()
	return manager{user: uid != 0, uid: uid}
}

func (m manager) String() string {
	if m.user {
		return "the user manager of uid " + strconv.Itoa(m.uid)
	}
	return "the system manager"
}

// endpoint is one address a manager may answer on.
type endpoint struct {
	addr  string // a D-Bus address
	label string // how errors and reports name it
	bus   bool   // a message bus (Hello first), not a manager's private socket
}

// endpoints lists where to look for m, in order, or says why there is
// nowhere to look.
func (m manager) endpoints() ([]endpoint, error) {
	if !m.user {
		sys := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
		label := "the system bus"
		if sys == "" {
			sys = "unix:path=/run/dbus/system_bus_socket"
			label += " (/run/dbus/system_bus_socket)"
		} else {
			label += " ($DBUS_SYSTEM_BUS_ADDRESS=" + sys + ")"
		}
		return []endpoint{
			{addr: "unix:path=/run/systemd/private", label: "systemd's private socket /run/systemd/private"},
			{addr: sys, label: label, bus: true},
		}, nil
	}
	var eps []endpoint
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		eps = append(eps, endpoint{addr: a, label: "$DBUS_SESSION_BUS_ADDRESS=" + a, bus: true})
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		def := "/run/user/" + strconv.Itoa(m.uid)
		if fi, err := os.Stat(def); err == nil && fi.IsDir() {
			rt = def
		}
	}
	if rt != "" {
		eps = append(eps,
			endpoint{addr: "unix:path=" + filepath.Join(rt, "bus"), label: filepath.Join(rt, "bus"), bus: true},
			endpoint{addr: "unix:path=" + filepath.Join(rt, "systemd", "private"), label: "the user manager's private socket " + filepath.Join(rt, "systemd", "private")})
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("no user manager for uid %d: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set, and /run/user/%d does not exist (log in, or enable lingering with `loginctl enable-linger`)", m.uid, m.uid)
	}
	return eps, nil
}

// connect returns a connection to m on the first endpoint where m
// answers, or an error naming every endpoint tried and what each said.
// The connection ends when ctx does; the caller closes it.
func connect(ctx context.Context, m manager) (*sd.Conn, endpoint, error) {
	eps, err := m.endpoints()
	if err != nil {
		return nil, endpoint{}, err
	}
	var tried []string
	for _, ep := range eps {
		conn, err := dial(ctx, ep)
		if err == nil {
			// A bus may answer without the manager on it.
			if _, err = conn.GetManagerProperty("Version"); err == nil {
				return conn, ep, nil
			}
			conn.Close()
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", ep.label, err))
		if ctx.Err() != nil {
			break
		}
	}
	hint := ""
	if m.user {
		hint = "; a user manager runs while its user is logged in, or always once lingering is enabled (`loginctl enable-linger`)"
	}
	return nil, endpoint{}, fmt.Errorf("%s does not answer: tried %s%s", m, strings.Join(tried, ", "), hint)
}

// dial opens a go-systemd connection on ep. go-systemd calls the dial
// function twice (one connection for calls, one for signals).
func dial(ctx context.Context, ep endpoint) (*sd.Conn, error) {
	return sd.NewConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial(ep.addr, dbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		// EXTERNAL with the uid as a number: no user lookup, which a
		// static binary could not do.
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Geteuid()))}); err != nil {
			_ = c.Close()
			return nil, err
		}
		if ep.bus {
			if err := c.Hello(); err != nil {
				_ = c.Close()
				return nil, err
			}
		}
		return c, nil
	})
}

// managerCgroup is the cgroup of m's own tree ("/" for the system
// manager, /user.slice/user-UID.slice/user@UID.service for a user's).
func managerCgroup(conn *sd.Conn) (string, error) {
	v, err := conn.GetManagerProperty("ControlGroup")
	if err != nil {
		return "", fmt.Errorf("reading the manager's ControlGroup: %w", err)
	}
	// go-systemd returns the value in GVariant text form: a quoted string.
	s, err := strconv.Unquote(v)
	if err != nil {
		return "", fmt.Errorf("the manager's ControlGroup %s is not a string", v)
	}
	if s == "" {
		s = "/"
	}
	return s, nil
}

// unitCgroup reads the ControlGroup of a scope or service unit.
func unitCgroup(ctx context.Context, conn *sd.Conn, unit string) (string, error) {
	p, err := conn.GetUnitTypePropertyContext(ctx, unit, unitType(unit), "ControlGroup")
	if err != nil {
		return "", err
	}
	s, ok := p.Value.Value().(string)
	if !ok || !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("unit %s has no cgroup (ControlGroup %v)", unit, p.Value)
	}
	return s, nil
}

// unitType is the D-Bus interface suffix of a unit's own properties
// (Delegate, ControlGroup): Service for x.service, Scope for x.scope.
func unitType(unit string) string {
	switch {
	case strings.HasSuffix(unit, ".service"):
		return "Service"
	case strings.HasSuffix(unit, ".scope"):
		return "Scope"
	case strings.HasSuffix(unit, ".slice"):
		return "Slice"
	}
	return "Unit"
}
