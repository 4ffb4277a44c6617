package systemd

import "github.com/gotether/tether/contain"

// Backend creates containers in the process's delegated scope. It holds no
// state of its own: every Backend of a process shares the one scope, so
// New returns a ready Backend and Backends may be made freely. It is safe
// for concurrent use.
type Backend struct{}

// New returns the systemd backend. It does no I/O: Availability looks at the
// host each time, and the first NewContainer of the process makes the scope.
func New() *Backend { return &Backend{} }

// Mechanism returns contain.Systemd.
func (*Backend) Mechanism() contain.Mechanism { return contain.Systemd }
