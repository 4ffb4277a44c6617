package jobobject

import "github.com/gotether/tether/contain"

// Backend creates Job Object containers. The zero value is ready to use
// and a Backend is safe for concurrent use; it holds no state, every
// container owns its own job.
type Backend struct{}

// New returns the Job Object backend. It exists on every OS so that
// contain/host can name it without build tags; off Windows its Availability
// says why it is unusable.
func New() *Backend { return &Backend{} }

// Mechanism returns contain.JobObject.
func (*Backend) Mechanism() contain.Mechanism { return contain.JobObject }

var _ contain.Backend = (*Backend)(nil)
