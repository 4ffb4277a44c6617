//go:build !unix && !windows

package retry

// transientErrnos is empty where there is no errno to classify (plan9,
// wasip1, js): TransientStart retries nothing there.
var transientErrnos []error
