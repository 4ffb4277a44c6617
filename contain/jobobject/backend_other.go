//go:build !windows

package jobobject

import (
	"context"
	"runtime"

	"github.com/gotether/tether/contain"
)

// notWindows is the reason the backend is unusable off Windows.
const notWindows = "Job Objects are a Windows facility; this host is " + runtime.GOOS

// Availability reports the backend unusable: Job Objects exist only on
// Windows.
func (*Backend) Availability() contain.Availability {
	return contain.Availability{
		Mechanism:  contain.JobObject,
		Reason:     notWindows,
		Limits:     contain.UnsupportedLimits(notWindows),
		OwnerDeath: "not applicable: " + notWindows,
	}
}

// NewContainer fails with a *contain.NotUsableError: there is no Job Object
// to create off Windows, and an explicitly chosen backend never falls back.
func (*Backend) NewContainer(context.Context, contain.Options) (contain.Container, error) {
	return nil, &contain.NotUsableError{Mechanism: contain.JobObject, Reason: notWindows}
}
