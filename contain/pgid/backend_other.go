//go:build !unix

package pgid

import (
	"context"

	"github.com/gotether/tether/contain"
)

// notUnix is why the backend cannot be used off unix. Windows has console
// process groups, but they are a Ctrl+C address, not a kill target, so
// nothing here could hold a tree.
const notUnix = "process groups are a POSIX facility; this host is windows"

// Availability reports the backend unusable: process groups are a POSIX
// facility.
func (*Backend) Availability() contain.Availability {
	return contain.Availability{
		Mechanism:  contain.PGID,
		Usable:     false,
		Reason:     notUnix,
		Limits:     contain.UnsupportedLimits(noLimits),
		OwnerDeath: "not applicable: the backend cannot be used on this host",
	}
}

// NewContainer always fails with a *contain.NotUsableError (matching
// contain.ErrNotUsable): process groups are a POSIX facility.
func (*Backend) NewContainer(context.Context, contain.Options) (contain.Container, error) {
	return nil, &contain.NotUsableError{Mechanism: contain.PGID, Reason: notUnix}
}
