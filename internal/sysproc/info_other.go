//go:build unix && !linux && !darwin

package sysproc

// ReadInfo knows only the pid on the BSDs other than macOS: their process
// tables need per-OS sysctl layouts that x/sys/unix does not export.
func ReadInfo(pid int) (Info, error) {
	if !Alive(pid) {
		return Info{}, errNoProcess
	}
	return Info{Pid: pid}, nil
}
