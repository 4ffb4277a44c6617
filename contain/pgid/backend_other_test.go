//go:build !unix

package pgid

import (
	"testing"

	"github.com/gotether/tether/contain"
)

func TestAvailabilitySaysNotUsableOffUnix(t *testing.T) {
	a := New().Availability()
	if a.Usable || a.Reason != notUnix || a.Mechanism != contain.PGID {
		t.Fatalf("Availability = %+v", a)
	}
}
