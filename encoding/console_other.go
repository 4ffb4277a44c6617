//go:build !windows

package encoding

// consoleOutput: Unix terminals have no code page. Programs write in the
// charset of their locale, which is UTF-8 on every current system.
func consoleOutput() (Encoding, error) { return UTF8, nil }
