//go:build !linux

package cgroupv2

import "errors"

// KernelProblem says why this kernel cannot hold cgroup v2 containers:
// off Linux, always.
func KernelProblem() error { return errors.New(reason()) }
