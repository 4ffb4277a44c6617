package systemd_test

import (
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

func TestMain(m *testing.M) { testchild.MainWith(m, helpers) }
