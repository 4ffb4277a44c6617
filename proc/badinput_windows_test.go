package proc_test

import "golang.org/x/sys/windows"

func init() {
	// Wine's ntdll exports wine_get_version; Windows' does not.
	underWine = func() bool {
		return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
	}
}
