package proc

import (
	"os"
	"slices"
	"strings"
)

// envSpec describes the child's environment relative to the owner's.
type envSpec struct {
	clear bool
	allow []string // non-nil: inherit only these names
	ops   []envOp  // applied in order on top
}

type envOp struct {
	key, value string
	unset      bool
}

func (e envSpec) clone() envSpec {
	e.allow = slices.Clone(e.allow)
	e.ops = slices.Clone(e.ops)
	return e
}

// SetEnv returns a copy with key set to value in the child's environment.
func (c *Cmd) SetEnv(key, value string) *Cmd {
	return c.with(func(n *Cmd) { n.env.ops = append(n.env.ops, envOp{key: key, value: value}) })
}

// UnsetEnv returns a copy with key removed from the child's environment.
func (c *Cmd) UnsetEnv(key string) *Cmd {
	return c.with(func(n *Cmd) { n.env.ops = append(n.env.ops, envOp{key: key, unset: true}) })
}

// ClearEnv returns a copy whose child inherits nothing from the owner's
// environment; only SetEnv values (given before or after) reach it.
func (c *Cmd) ClearEnv() *Cmd {
	return c.with(func(n *Cmd) { n.env.clear, n.env.allow = true, nil })
}

// InheritEnv returns a copy whose child inherits only the named variables
// from the owner (an allow-list, such as PATH and HOME); SetEnv values
// still apply.
func (c *Cmd) InheritEnv(names ...string) *Cmd {
	return c.with(func(n *Cmd) { n.env.clear, n.env.allow = false, append(n.env.allow, names...) })
}

// environ computes the child's environment. It returns nil, nil when the
// owner's environment is inherited unchanged (exec then uses it as is).
func (e envSpec) environ() ([]string, error) {
	if !e.clear && e.allow == nil && len(e.ops) == 0 {
		return nil, nil
	}
	var base []string
	switch {
	case e.clear:
	case e.allow != nil:
		for _, kv := range os.Environ() {
			k := envKey(kv)
			if slices.ContainsFunc(e.allow, func(a string) bool { return envKeyEqual(a, k) }) {
				base = append(base, kv)
			}
		}
	default:
		base = os.Environ()
	}
	for _, op := range e.ops {
		base = slices.DeleteFunc(base, func(kv string) bool {
			return envKeyEqual(envKey(kv), op.key)
		})
		if !op.unset {
			base = append(base, op.key+"="+op.value)
		}
	}
	if base == nil {
		base = []string{} // an empty, not an inherited, environment
	}
	return base, nil
}

// envKey is the name in a KEY=VALUE entry: up to the first '=', past a
// leading one where names may start with it (Windows' "=C:").
func envKey(kv string) string {
	from := 0
	if envAllowsLeadingEquals && strings.HasPrefix(kv, "=") {
		from = 1
	}
	if i := strings.IndexByte(kv[from:], '='); i >= 0 {
		return kv[:from+i]
	}
	return kv
}

// validate checks names and values: no NUL anywhere, no '=' or empty
// name. Errors never quote values.
func (e envSpec) validate(program string) error {
	check := func(k string) error {
		if k == "" || strings.Contains(k[1:], "=") || (k[0] == '=' && !envAllowsLeadingEquals) {
			return &InvalidError{Program: program, Reason: "malformed environment variable name"}
		}
		if strings.IndexByte(k, 0) >= 0 {
			return &InvalidError{Program: program, Reason: "NUL byte in an environment variable name"}
		}
		return nil
	}
	for _, op := range e.ops {
		if err := check(op.key); err != nil {
			return err
		}
		if strings.IndexByte(op.value, 0) >= 0 {
			return &InvalidError{Program: program, Reason: "NUL byte in the value of an environment variable"}
		}
	}
	for _, k := range e.allow {
		if err := check(k); err != nil {
			return err
		}
	}
	return nil
}
