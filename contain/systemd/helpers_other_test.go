//go:build !linux

package systemd_test

import "github.com/gotether/tether/internal/testchild"

// helpers: off Linux the package has no helper modes.
var helpers map[string]testchild.Helper
