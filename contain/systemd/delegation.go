package systemd

// Delegation says whether systemd delegated the calling process's own
// cgroup to it: whether tether may create cgroups there without breaking
// systemd's single-writer rule. contain/host asks it to choose between
// the cgroupv2 backend (in our own delegated cgroup) and this one.
type Delegation struct {
	// Cgroup is the process's cgroup, as /proc/self/cgroup names it.
	Cgroup string `json:"cgroup"`
	// Delegated is true when systemd delegated Cgroup, or a cgroup it is
	// nested in within the same unit, to this process's user.
	Delegated bool `json:"delegated"`
	// Reason says how that was learned, or why the cgroup is not ours.
	Reason string `json:"reason"`
}
