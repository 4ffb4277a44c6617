//go:build linux && !race

package proc_test

// raceEnabled is true in a binary built with -race.
const raceEnabled = false
