package jobobject_test

import (
	"os"
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// helperEnv names this package's own helper modes (see runHelper), which
// need the backend itself and so cannot live in internal/testchild.
const helperEnv = "TETHER_JOBOBJECT_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h, os.Args[1:]))
	}
	testchild.Main(m)
}
