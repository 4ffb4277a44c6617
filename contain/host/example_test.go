package host_test

import (
	"fmt"

	"github.com/gotether/tether/contain/host"
)

// Default names the backend used when the user chooses none, and why.
func ExampleDefault() {
	sel := host.Default()
	fmt.Println(sel.Backend.Mechanism() != "", sel.Reason != "")
	// Output: true true
}

// Inspect is the spawn-free report behind `tether doctor`.
func ExampleInspect() {
	r := host.Inspect()
	for _, b := range r.Backends {
		_ = b.Usable // and b.Reason, b.Limits, b.OwnerDeath ...
	}
	fmt.Println(len(r.Backends))
	// Output: 4
}
