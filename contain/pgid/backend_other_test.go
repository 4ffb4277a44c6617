//go:build !unix

package pgid

import (
	"testing"

	"github.com/gotether/tether/contain"
)

func TestProbeSaysNotUsableOffUnix(t *testing.T) {
	a := New().Probe()
	if a.Usable || a.Reason != notUnix || a.Mechanism != contain.PGID {
		t.Fatalf("Probe = %+v", a)
	}
}
