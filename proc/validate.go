package proc

import (
	"strings"

	"github.com/gotether/tether/contain"
)

// validate rejects a malformed command before anything is spawned.
func (c *Cmd) validate() error {
	switch {
	case c.fromNil:
		return &InvalidError{Reason: "a builder method was called on a nil *Cmd"}
	case c.name == "":
		return &InvalidError{Reason: "empty program name"}
	case strings.IndexByte(c.name, 0) >= 0:
		return &InvalidError{Reason: "NUL byte in the program name"}
	case c.timeout < 0:
		return &InvalidError{Program: c.name, Reason: "negative timeout"}
	case c.grace.set && c.grace.period < 0:
		return &InvalidError{Program: c.name, Reason: "negative grace period"}
	case c.grace.set && c.grace.sig == nil:
		return &InvalidError{Program: c.name, Reason: "grace without a signal"}
	case c.sys.foreground != nil && c.sys.setsid:
		return &InvalidError{Program: c.name, Reason: "Foreground with Setsid (a new session has no controlling terminal)"}
	case strings.IndexByte(c.dir, 0) >= 0:
		return &InvalidError{Program: c.name, Reason: "NUL byte in the working directory"}
	}
	for _, a := range c.args {
		if strings.IndexByte(a, 0) >= 0 {
			return &InvalidError{Program: c.name, Reason: "NUL byte in an argument"}
		}
	}
	for _, o := range []outSpec{c.stdout, c.stderr} {
		// A cap set explicitly is checked even where the stream is not
		// captured: Exec discards stdout, and must not run a command
		// that Output refuses.
		if (o.captures() || o.capSet) && (o.limit < 0 || o.policy < KeepHead || o.policy > CapFail) {
			return &InvalidError{Program: c.name, Reason: "invalid capture cap or policy"}
		}
		if o.mode == modeTee && o.w == nil {
			return &InvalidError{Program: c.name, Reason: "Tee with a nil writer"}
		}
	}
	if err := c.checkCombined(); err != nil {
		return err
	}
	if err := c.stdin.checkReader(c.name, readerGiven); err != nil {
		return err
	}
	if err := c.lines.validate(c.name); err != nil {
		return err
	}
	if err := contain.ValidateLimits(c.limits); err != nil {
		return err
	}
	if c.grace.set {
		if err := checkGrace(c.name, c.grace.sig); err != nil {
			return err
		}
	}
	if err := c.attrs.validate(c.name); err != nil {
		return err
	}
	if err := c.checkAttrs(); err != nil {
		return err
	}
	if err := c.checkTerminal(); err != nil {
		return err
	}
	return c.env.validate(c.name)
}

// Validate reports whether c is well formed, as every verb checks before
// running it (ErrInvalid, contain.ErrInvalidLimit, ErrUnsupported). Test
// doubles call it so that they fail where the real runner would.
func (c *Cmd) Validate() error {
	if c == nil {
		return &InvalidError{Reason: "nil *Cmd"}
	}
	return c.validate()
}
