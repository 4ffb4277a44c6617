//go:build !linux

package systemd

import (
	"context"
	"runtime"

	"github.com/gotether/tether/contain"
)

func reason() string {
	return "systemd delegates cgroup v2 scopes, a Linux facility; this host is " + runtime.GOOS
}

// Availability reports the backend unusable.
func (*Backend) Availability() contain.Availability {
	return contain.Availability{Mechanism: contain.Systemd, Reason: reason(), ContainsSetsid: true,
		Limits: contain.UnsupportedLimits(reason()), OwnerDeath: "not applicable: the backend cannot be used on this host"}
}

// NewContainer fails with a *contain.NotUsableError.
func (*Backend) NewContainer(context.Context, contain.Options) (contain.Container, error) {
	return nil, &contain.NotUsableError{Mechanism: contain.Systemd, Reason: reason()}
}

// Booted reports false: systemd runs only on Linux.
func Booted() bool { return false }

// OwnDelegation reports the cgroup not delegated: there are no cgroups
// off Linux.
func OwnDelegation(context.Context) Delegation {
	return Delegation{Reason: reason()}
}
