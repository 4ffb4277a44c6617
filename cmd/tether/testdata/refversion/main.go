// Refversion is the reference of BenchmarkStartupVersion: a Go program
// that only prints its version, read from its build information as
// `tether version` reads tether's, and imports nothing else. Its start is
// what any Go program pays; what `tether version` takes beyond it is
// tether's own (its binary's size and its packages' initialisation).
package main

import (
	"fmt"
	"runtime/debug"
)

func main() {
	v := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	fmt.Println("refversion", v)
}
