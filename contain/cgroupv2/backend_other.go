//go:build !linux

package cgroupv2

import (
	"context"
	"runtime"

	"github.com/gotether/tether/contain"
)

// Backend creates cgroup v2 containers. Off Linux it is never usable.
type Backend struct{}

// Option configures a Backend.
type Option func(*Backend)

// WithParent is accepted everywhere so code builds on every OS; off Linux
// it has no effect because the backend is not usable.
func WithParent(string) Option { return func(*Backend) {} }

// New returns the backend.
func New(...Option) *Backend { return &Backend{} }

// Mechanism returns contain.CgroupV2.
func (*Backend) Mechanism() contain.Mechanism { return contain.CgroupV2 }

func reason() string { return "cgroup v2 is a Linux facility; this host is " + runtime.GOOS }

// Availability reports the backend unusable.
func (*Backend) Availability() contain.Availability {
	return contain.Availability{Mechanism: contain.CgroupV2, Reason: reason(), ContainsSetsid: true,
		Limits: contain.UnsupportedLimits(reason()), OwnerDeath: "not applicable: the backend cannot be used on this host"}
}

// NewContainer fails with a *contain.NotUsableError.
func (*Backend) NewContainer(context.Context, contain.Options) (contain.Container, error) {
	return nil, &contain.NotUsableError{Mechanism: contain.CgroupV2, Reason: reason()}
}
