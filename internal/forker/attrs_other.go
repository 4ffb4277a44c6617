//go:build !linux

package forker

import (
	"errors"
	"os/exec"
)

// AttrsSupported reports whether Start can apply Attrs here: only Linux
// can give a child these attributes before its program runs.
const AttrsSupported = false

func startWith(*exec.Cmd, *Attrs) error {
	return errors.New("forker: process attributes (rlimits, nice, OOM score, umask) are applied only on Linux")
}

func onMainThread() bool { return false }

type ownerFS struct{}

func openOwnerFS() (*ownerFS, error) { return &ownerFS{}, nil }

func (*ownerFS) close() {}

func startOnThread(j job) error { return j.cmd.Start() }
