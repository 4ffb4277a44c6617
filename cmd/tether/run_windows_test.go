package main

import "os"

// stopForCleanup ends a tether left running by a failed test. Windows
// has no SIGTERM to send; the job object kills the tree with tether.
func stopForCleanup(p *os.Process) { _ = p.Kill() }
