//go:build linux

package cgroupv2

import "fmt"

// KernelProblem says why this kernel cannot hold cgroup v2 containers (it
// lacks clone3 into a cgroup, Linux 5.7, or cgroup.kill, Linux 5.14), or
// returns nil. The systemd backend, which runs this package's containers
// in a scope systemd delegated, checks it before asking for a scope.
func KernelProblem() error {
	if rel, ok := kernelOK(); !ok {
		return fmt.Errorf("kernel %s is older than %d.%d (needed for clone3 into a cgroup and cgroup.kill)", rel, minKernel[0], minKernel[1])
	}
	return nil
}
