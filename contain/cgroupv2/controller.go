package cgroupv2

import "github.com/gotether/tether/contain"

// Controller names the cgroup v2 controller that enforces limits of kind
// k: "memory", "pids" or "cpu" ("" for a kind it does not know). A limit
// can be enforced only where its controller is in the parent cgroup's
// cgroup.controllers.
func Controller(k contain.LimitKind) string { return controllers[k] }

var controllers = map[contain.LimitKind]string{
	contain.MemoryLimit:  "memory",
	contain.ProcessLimit: "pids",
	contain.CPULimit:     "cpu",
}
