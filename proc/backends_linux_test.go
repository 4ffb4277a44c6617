//go:build linux

package proc_test

import (
	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
)

// backends are the Linux backends; forEachBackend runs those usable here
// (systemd only on a systemd host: make test-systemd).
func backends() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), systemd.New(), pgid.New()}
}
