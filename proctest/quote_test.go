package proctest

import "testing"

func TestWindowsCommandLineQuoting(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"git", "status"}, `git status`},
		{[]string{`C:\Program Files\Git\git.exe`, "log"}, `"C:\Program Files\Git\git.exe" log`},
		{[]string{"x", ""}, `x ""`},
		{[]string{"x", "a b"}, `x "a b"`},
		{[]string{"x", `say "hi"`}, `x "say \"hi\""`},
		{[]string{"x", `C:\dir\`}, `x C:\dir\`},
		{[]string{"x", `C:\my dir\`}, `x "C:\my dir\\"`},
		{[]string{"x", `a\"b`}, `x "a\\\"b"`},
		{[]string{"x", "a&b|c", "50%", "(y)"}, `x "a&b|c" "50%" "(y)"`},
	} {
		if got := windowsCommandLine(tc.argv); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.argv, got, tc.want)
		}
	}
}
