package proc

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// envEntryKey is the name in a KEY=VALUE entry as the OS reads it: up to
// the first '=', not counting a leading one where names may start with it
// (Windows' "=C:").
func envEntryKey(kv string) (key, value string) {
	from := 0
	if envAllowsLeadingEquals && strings.HasPrefix(kv, "=") {
		from = 1
	}
	i := strings.IndexByte(kv[from:], '=')
	if i < 0 {
		return kv, ""
	}
	return kv[:from+i], kv[from+i+1:]
}

// envNameProblem is why name is not a valid environment variable name,
// or "": not empty, no NUL, no '=' (but a leading one on Windows).
func envNameProblem(name string) string {
	switch {
	case name == "":
		return "malformed environment variable name"
	case strings.Contains(name[1:], "=") || (name[0] == '=' && !envAllowsLeadingEquals):
		return "malformed environment variable name"
	case strings.IndexByte(name, 0) >= 0:
		return "NUL byte in an environment variable name"
	}
	return ""
}

// FuzzEnv builds a command's environment from two names and values and
// an operation (set, unset, set and unset the first, or inherit only a
// name): it never panics; Validate rejects exactly the empty names, names
// with '=' (past a leading one on Windows) or NUL and values with NUL,
// with an *InvalidError that names the program and the problem but never
// a name or value; and an accepted environment has every name once, the
// last value set for it, in entries that split back into that name and
// value.
func FuzzEnv(f *testing.F) {
	for _, s := range []struct {
		k1, v1, k2, v2 string
		op             uint8
	}{
		{"PATH", "/usr/bin:/bin", "HOME", "/root", 0},
		{"A", "1", "A", "2", 0},
		{"path", "1", "PATH", "2", 0},
		{"A", "x", "A", "", 1},
		{"K", "v=w==", "K2", "", 2},
		{"LANG", "C.UTF-8", "HOME", "", 3},
		{"", "v", "B", "w", 0},
		{"A=B", "v", "B", "w", 0},
		{"A", "v", "=", "w", 0},
		{"=C:", `C:\work`, "=C:", `D:\`, 0},
		{"=C:", `C:\work`, "=c:", "", 1},
		{"=", "x", "==", "y", 0},
		{"A\x00B", "v", "B", "w", 0},
		{"A", "x\x00y", "B", "w", 0},
		{"A", "v", "B\x00", "w", 3},
		{"A", "v", "", "", 3},
		{"A", "v", "B", "w\x00", 2},
		{"ÄÖ", "ü", "äö", "€", 0},
		{"\xff", "\xfe", "\xff", "", 1},
	} {
		f.Add(s.k1, s.v1, s.k2, s.v2, s.op)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, op uint8) {
		c := Command("prog").ClearEnv().SetEnv(k1, v1)
		// The operations the names and values go through, in order; and
		// an allow-list name, if any.
		type opIn struct {
			key, value string
			unset      bool
		}
		ops := []opIn{{key: k1, value: v1}}
		var allow []string
		switch op % 4 {
		case 0:
			c = c.SetEnv(k2, v2)
			ops = append(ops, opIn{key: k2, value: v2})
		case 1:
			c = c.UnsetEnv(k2)
			ops = append(ops, opIn{key: k2, unset: true})
		case 2:
			c = c.SetEnv(k2, v2).UnsetEnv(k1)
			ops = append(ops, opIn{key: k2, value: v2}, opIn{key: k1, unset: true})
		case 3:
			c = c.InheritEnv(k2)
			allow = []string{k2}
		}
		want := ""
		for _, o := range ops {
			if want = envNameProblem(o.key); want != "" {
				break
			}
			if !o.unset && strings.IndexByte(o.value, 0) >= 0 {
				want = "NUL byte in the value of an environment variable"
				break
			}
		}
		for _, k := range allow {
			if want == "" {
				want = envNameProblem(k)
			}
		}
		err := c.Validate()
		if want != "" {
			var ie *InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("%#v: want an *InvalidError (%s), got %T %v", ops, want, err, err)
			}
			// Exactly the program and the reason: no name or value.
			if exact := (&InvalidError{Program: "prog", Reason: want}).Error(); err.Error() != exact {
				t.Fatalf("%#v: error %q, want %q", ops, err, exact)
			}
			return
		}
		if err != nil {
			t.Fatalf("%#v: rejected: %v", ops, err)
		}
		env, err := c.env.environ()
		if err != nil {
			t.Fatalf("%#v: %v", ops, err)
		}
		// What the child must see: the inherited entries (only an
		// allow-listed name, none after ClearEnv), then each operation
		// replacing or removing the entries of its name.
		var wantEnv []string
		for _, kv := range os.Environ() {
			if k, _ := envEntryKey(kv); slices.ContainsFunc(allow, func(a string) bool { return envKeyEqual(a, k) }) {
				wantEnv = append(wantEnv, kv)
			}
		}
		for _, o := range ops {
			wantEnv = slices.DeleteFunc(wantEnv, func(kv string) bool {
				k, _ := envEntryKey(kv)
				return envKeyEqual(k, o.key)
			})
			if !o.unset {
				wantEnv = append(wantEnv, o.key+"="+o.value)
			}
		}
		if !slices.Equal(env, wantEnv) || env == nil {
			t.Fatalf("%#v allowing %q: environment %q, want %q", ops, allow, env, wantEnv)
		}
		for i, kv := range env {
			k, _ := envEntryKey(kv)
			if j := slices.IndexFunc(env[:i], func(prev string) bool {
				pk, _ := envEntryKey(prev)
				return envKeyEqual(pk, k)
			}); j >= 0 {
				t.Fatalf("%#v: %q twice in %q", ops, k, env)
			}
		}
		for _, o := range ops {
			if o.unset {
				continue
			}
			if i := slices.IndexFunc(env, func(kv string) bool {
				k, v := envEntryKey(kv)
				return k == o.key && v == o.value
			}); i < 0 && !slices.ContainsFunc(ops, func(later opIn) bool { return later != o && envKeyEqual(later.key, o.key) }) {
				t.Fatalf("%#v: %q=%q does not split back out of %q", ops, o.key, o.value, env)
			}
		}
	})
}
