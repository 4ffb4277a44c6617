//go:build linux

package systemd

import (
	"context"
	"os"
	"os/exec"

	"github.com/gotether/tether/contain"
)

// container is a cgroupv2 container in the scope, reporting
// contain.Systemd. Every operation is the cgroupv2 backend's; only the
// mechanism's name, in Mechanism and in the typed errors a caller
// inspects (relabel), and the subs' (which live in the scope too), differ.
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

// The operations that can fail with a typed error naming the mechanism.

func (c *container) Start(cmd *exec.Cmd) error { return relabel(c.Container.Start(cmd)) }
func (c *container) Adopt(pid int) error       { return relabel(c.Container.Adopt(pid)) }
func (c *container) Signal(sig os.Signal) error {
	return relabel(c.Container.Signal(sig))
}
func (c *container) Kill(ctx context.Context) error   { return relabel(c.Container.Kill(ctx)) }
func (c *container) Freeze(ctx context.Context) error { return relabel(c.Container.Freeze(ctx)) }
func (c *container) Thaw(ctx context.Context) error   { return relabel(c.Container.Thaw(ctx)) }
func (c *container) Close(ctx context.Context) error  { return relabel(c.Container.Close(ctx)) }
