//go:build linux

package systemd

import (
	"context"

	"github.com/gotether/tether/contain"
)

// container is a cgroupv2 container in the scope, reporting
// contain.Systemd. Every operation is the cgroupv2 backend's; only the
// mechanism's name, and the subs' (which live in the scope too), differ.
type container struct {
	contain.Container
}

func (*container) Mechanism() contain.Mechanism { return contain.Systemd }

// Sub nests a container in this one, as the cgroupv2 backend does, and
// wraps it so that it reports contain.Systemd too.
func (c *container) Sub(ctx context.Context, opts contain.Options) (contain.Container, error) {
	s, err := c.Container.Sub(ctx, opts)
	if err != nil {
		return nil, relabel(err)
	}
	return &container{Container: s}, nil
}
