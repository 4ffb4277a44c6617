// Package sysproc holds small, OS-specific process facts shared by the
// backends and the tests: liveness that counts a zombie as dead, and (on
// Linux) per-process details read from /proc.
package sysproc
