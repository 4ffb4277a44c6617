//go:build !linux

package supervise_test

import (
	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
)

func backends() []contain.Backend { return []contain.Backend{host.Default().Backend} }
