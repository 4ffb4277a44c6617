package teardown

import (
	"errors"
	"os"
	"slices"
	"testing"
)

// TestGraceful checks the order of a graceful stop: the signal, the wait
// only when the signal was delivered, the kill in every case.
func TestGraceful(t *testing.T) {
	refused := errors.New("refused")
	for _, tc := range []struct {
		name    string
		sig     os.Signal
		sigErr  error
		want    []string
		wantErr error
	}{
		{"delivered", os.Interrupt, nil, []string{"signal", "wait", "kill"}, nil},
		{"refused", os.Interrupt, refused, []string{"signal", "kill"}, refused},
		{"no signal", nil, nil, []string{"kill"}, ErrNoSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := Graceful(tc.sig,
				func(os.Signal) error { got = append(got, "signal"); return tc.sigErr },
				func() { got = append(got, "wait") },
				func() { got = append(got, "kill") })
			if !slices.Equal(got, tc.want) || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("steps %v err %v, want %v and %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
