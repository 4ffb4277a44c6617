//go:build linux

package supervise_test

import (
	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/pgid"
)

func backends() []contain.Backend { return []contain.Backend{cgroupv2.New(), pgid.New()} }
