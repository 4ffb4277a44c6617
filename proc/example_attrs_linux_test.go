//go:build linux

package proc_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gotether/tether/proc"
)

// Rlimit, Nice, OOMScoreAdj and Umask are given to the child before its
// program runs a single instruction; the owner's own are not touched.
func ExampleCmd_Rlimit() {
	out, err := proc.Command("sh", "-c", "ulimit -n; ulimit -Hn; umask").
		Rlimit(proc.RlimitNoFile, 64, 128).
		Nice(10).
		OOMScoreAdj(500).
		Umask(0o027).
		Run(context.Background())
	fmt.Println(strings.Fields(out), err)
	// Output: [64 128 0027] <nil>
}
