package pgid

import "github.com/gotether/tether/contain"

// Backend creates process-group containers. The zero value is ready to
// use, and a Backend is safe for concurrent use: it holds no state.
type Backend struct{}

// New returns the process-group backend. It compiles on every OS; off unix
// (Windows) its Availability reports it unusable and its NewContainer fails
// with a *contain.NotUsableError.
func New() *Backend { return &Backend{} }

// Mechanism returns contain.PGID.
func (*Backend) Mechanism() contain.Mechanism { return contain.PGID }

var _ contain.Backend = (*Backend)(nil)

// noLimits is why every limit kind is refused: a process group is only a
// signal address, with no resource accounting behind it.
const noLimits = "process groups cannot enforce resource limits"
