package sysproc

import "time"

// Info describes one process for listings. A field the OS does not report
// is left zero (Name "" and a zero StartTime); Known says which are set.
type Info struct {
	Pid       int
	Ppid      int
	Name      string
	StartTime time.Time
	// Known is false when only Pid is known (the BSDs other than macOS).
	Known bool
}
