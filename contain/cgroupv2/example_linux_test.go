//go:build linux

package cgroupv2_test

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
)

// A cgroup v2 container holds a whole tree, setsid escapees included, and
// Close kills it and removes the cgroup.
func ExampleBackend_NewContainer() {
	b := cgroupv2.New()
	if a := b.Availability(); !a.Usable {
		fmt.Println("cgroup v2 not usable here:", a.Reason != "")
		return
	}
	ctx := context.Background()
	c, err := b.NewContainer(ctx, contain.Options{})
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("sh", "-c", "setsid sleep 60 & exit 0")
	if err := c.Start(cmd); err != nil { // born inside the cgroup (clone3)
		panic(err)
	}
	_ = cmd.Wait() // sh exits; the setsid sleep is still in the cgroup
	pids, _ := c.Pids()
	fmt.Println(len(pids))
	fmt.Println(c.Close(ctx)) // kills the sleep, confirms, removes the cgroup
	// Output:
	// 1
	// <nil>
}
