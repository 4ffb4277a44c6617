//go:build !unix

package pgid

import (
	"context"
	"errors"
	"testing"

	"github.com/gotether/tether/contain"
)

func TestProbeSaysNotUsableOffUnix(t *testing.T) {
	a := New().Probe()
	if a.Usable || a.Reason != notUnix || a.Mechanism != contain.PGID {
		t.Fatalf("Probe = %+v", a)
	}
}

func TestNewFailsWithNotUsableOffUnix(t *testing.T) {
	c, err := New().New(context.Background(), contain.Options{})
	var nu *contain.NotUsableError
	if c != nil || !errors.As(err, &nu) || !errors.Is(err, contain.ErrNotUsable) {
		t.Fatalf("New = %v, %v; want a *contain.NotUsableError", c, err)
	}
}
