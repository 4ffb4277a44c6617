//go:build !linux

package host

import "github.com/gotether/tether/contain"

// survey takes the first usable of this OS's candidates, in order (see
// chooseFrom); the report lists every other backend after them.
func survey(full bool) (Selection, []contain.Availability) {
	cands := candidates()
	return chooseFrom(cands, othersThan(cands...), full)
}
