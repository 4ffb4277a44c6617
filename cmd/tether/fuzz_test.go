package main

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gotether/tether/contain"
)

// FuzzParseDuration checks the --timeout and --grace parser: it never
// panics and answers the same twice; what it accepts is never negative,
// is what time.ParseDuration says for a Go duration, is the number of
// seconds (to the nanosecond) for a bare number and of days for a number
// with a "d" suffix, and reads back from its
// own String form; a bare number that is positive but too large for a
// Duration is rejected as out of range, never as negative.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"1.5s", "500ms", "2m", "1h2m3.5s", "0", "0s", "-0", "-1s", "3", "2.5",
		"1e3", "-1e-10", "0x1p4", ".5", "5.", "+7", " 5", "5s ", "", "s", "1.5.5s",
		"NaN", "Inf", "-Inf", "1e400", "9223372036", "9223372036.854775807",
		"9223372037", "-9223372036.854775807", "2562047h47m16.854775807s",
		"2562047h47m16.854775808s", "1µs", "1us", "1ns", "0.000000001", "1_0",
		"1d", "1.5d", "0d", "-1d", "d", "1dd", "1d2h", "106751d", "106752d", "NaNd", "Infd", "1e-15d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		d2, err2 := parseDuration(s)
		if d != d2 || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: %v, %v then %v, %v", s, d, err, d2, err2)
		}
		if err == nil && d < 0 {
			t.Fatalf("%q: accepted a negative %v", s, d)
		}
		if err != nil && d != 0 {
			t.Fatalf("%q: rejected (%v) but returned %v", s, err, d)
		}
		if gd, gerr := time.ParseDuration(s); gerr == nil {
			switch {
			case gd >= 0 && (err != nil || d != gd):
				t.Fatalf("%q: Go duration %v, got %v, %v", s, gd, d, err)
			case gd < 0 && err == nil:
				t.Fatalf("%q: negative Go duration %v accepted as %v", s, gd, d)
			}
		} else if secs, unit, ferr := fuzzNumber(s); ferr == nil && !math.IsNaN(secs) && !math.IsInf(secs, 0) {
			ns := secs * unit
			switch {
			case ns >= 0x1p63 && err == nil:
				t.Fatalf("%q: %g ns does not fit a Duration, accepted as %v", s, ns, d)
			case ns >= 0x1p63 && strings.Contains(err.Error(), "negative"):
				t.Fatalf("%q: %g ns is out of range, rejected as %q", s, ns, err)
			case ns <= -1 && err == nil:
				t.Fatalf("%q: %g s is negative, accepted as %v", s, secs, d)
			case ns > -1 && ns < 0x1p63 && err != nil:
				t.Fatalf("%q: %g s rejected: %v", s, secs, err)
			case err == nil && math.Abs(float64(d)-ns) > 1+math.Abs(ns)*0x1p-52:
				t.Fatalf("%q: %g s read as %v", s, secs, d)
			}
		} else if err == nil {
			t.Fatalf("%q is neither a Go duration nor a number, accepted as %v", s, d)
		}
		if err == nil {
			if back, berr := parseDuration(d.String()); berr != nil || back != d {
				t.Fatalf("%q: %v does not read back from %q: %v, %v", s, d, d.String(), back, berr)
			}
		}
	})
}

// fuzzNumber splits a bare number of seconds or a number of days ("1.5d")
// into the number and its unit in nanoseconds.
func fuzzNumber(s string) (float64, float64, error) {
	unit := float64(time.Second)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		s, unit = days, float64(24*time.Hour)
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, unit, err
}

// FuzzParseSize checks the --memory-max parser: it never panics and
// answers the same twice; what it accepts is a valid memory limit that
// reads back from its decimal form and from contain.Limit's String; case,
// surrounding space and the spellings K, KB, Ki and KiB do not matter; a
// plain number of bytes is read as that number.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{
		"512K", "64M", "1.5G", "2T", "1", "0", "-1", "0.5", "1.9", "4096", "1k", "1kb",
		"1KiB", "1Ki", "1ki", " 64m ", "64 M", "B", "K", "", "1e3K", "0x10", "0x1p10",
		"9007199254740993", "4611686018427387904", "4611686018427387903", "8E", "1P",
		"NaN", "InfK", "1e400", "1_000", "１K", "1\u00a0K",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		n2, err2 := parseSize(s)
		if n != n2 || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: %d, %v then %d, %v", s, n, err, n2, err2)
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("%q: rejected (%v) but returned %d", s, err, n)
			}
		} else {
			if n < 1 || n > 1<<62 { // the limit's own bound, MaxInt64/2 as a float64
				t.Fatalf("%q: accepted %d, out of range", s, n)
			}
			l := contain.MemoryMax(n)
			if verr := l.Validate(); verr != nil {
				t.Fatalf("%q: accepted %d, which the limit rejects: %v", s, n, verr)
			}
			if back, berr := parseSize(strconv.FormatInt(n, 10)); berr != nil || back != n {
				t.Fatalf("%q: %d does not read back from its decimal form: %d, %v", s, n, back, berr)
			}
			num, ok := strings.CutSuffix(strings.TrimPrefix(l.String(), "memory max "), " bytes")
			if back, berr := parseSize(num); !ok || berr != nil || back != n {
				t.Fatalf("%q: %d does not read back from %q: %d, %v", s, n, l.String(), back, berr)
			}
		}
		same := func(other string) {
			if m, merr := parseSize(other); m != n || (merr == nil) != (err == nil) {
				t.Fatalf("%q gives %d, %v but %q gives %d, %v", s, n, err, other, m, merr)
			}
		}
		if utf8.ValidString(s) {
			// Lower case reads the same, unless lowering a character
			// outside ASCII changes what upper case makes of it.
			if lo, up := strings.ToLower(s), strings.ToUpper(s); strings.ToUpper(lo) == up {
				same(lo)
			}
			same(" \t" + s + "\n")
		}
		if num := strings.TrimSpace(s); num != "" && strings.IndexByte("0123456789.", num[len(num)-1]) >= 0 {
			k, kerr := parseSize(num + "K")
			for _, suffix := range []string{"k", "KB", "kb", "Ki", "KiB", "kib"} {
				if m, merr := parseSize(num + suffix); m != k || (merr == nil) != (kerr == nil) {
					t.Fatalf("%q: K gives %d, %v but %s gives %d, %v", num, k, kerr, suffix, m, merr)
				}
			}
			if f, ferr := strconv.ParseFloat(num, 64); ferr == nil && err == nil && n != int64(f) {
				t.Fatalf("%q: %g bytes read as %d", s, f, n)
			}
		}
	})
}

// FuzzParseSignal checks the --signal parser: it never panics and
// answers the same twice; case, surrounding space and the SIG prefix do
// not matter; on Unix an accepted signal is a real one that reads back
// from its name (signalName) and from its number; on Windows only KILL is
// accepted.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{
		"TERM", "SIGTERM", "term", "sigterm", "SigTerm", "INT", "HUP", "USR1", "KILL", "9",
		"15", "0", "-9", "+9", "09", "65", "99999999999999999999", "SIG", "", " hup ",
		"SIGSIGTERM", "RTMIN", "SIGRTMIN+1", "IOT", "SIGIOT", "POLL", "CLD", "STKFLT",
		// Real-time signals: Linux accepts 34 to 64, FreeBSD 65 to 126,
		// NetBSD 33 to 63; the names count from either end.
		"32", "33", "34", "35", "49", "50", "63", "64", "65", "126", "127",
		"RTMAX", "sigrtmax", "RTMIN+0", "RTMIN+15", "RTMIN+30", "RTMIN+31", "RTMIN+61",
		"RTMAX-0", "RTMAX-14", "RTMAX-30", "RTMAX-31", "SIGRTMAX-3", "rtmin+2",
		"RTMIN-1", "RTMAX+1", "RTMIN+", "RTMAX-", "RTMIN+ 1", "RTMIN+01", "RTMIN+-1",
		"RTMIN++1", "RTMIN+1000", "RTMINX", "RTMAXIMUM", "SIG RTMIN", "RT", "RTMIN+٣",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := parseSignal(s)
		sig2, err2 := parseSignal(s)
		if sig != sig2 || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: %v, %v then %v, %v", s, sig, err, sig2, err2)
		}
		if (err == nil) == (sig == nil) {
			t.Fatalf("%q: signal %v with error %v", s, sig, err)
		}
		same := func(other string) {
			if o, oerr := parseSignal(other); o != sig || (oerr == nil) != (err == nil) {
				t.Fatalf("%q gives %v, %v but %q gives %v, %v", s, sig, err, other, o, oerr)
			}
		}
		if utf8.ValidString(s) {
			if lo, up := strings.ToLower(s), strings.ToUpper(s); strings.ToUpper(lo) == up {
				same(lo)
			}
			same(" " + s + "\t")
		}
		if name := strings.ToUpper(strings.TrimSpace(s)); !strings.HasPrefix(name, "SIG") {
			if _, aerr := strconv.Atoi(name); aerr != nil {
				same("SIG" + name)
			}
		}
		if err != nil {
			return
		}
		if runtime.GOOS == "windows" {
			if sig != os.Kill {
				t.Fatalf("%q: accepted %v on Windows", s, sig)
			}
			return
		}
		num, ok := sig.(syscall.Signal)
		if !ok || num <= 0 {
			t.Fatalf("%q: accepted %#v", s, sig)
		}
		for _, back := range []string{signalName(sig), strconv.Itoa(int(num))} {
			if b, berr := parseSignal(back); berr != nil || b != sig {
				t.Fatalf("%q: %v does not read back from %q: %v, %v", s, sig, back, b, berr)
			}
		}
	})
}

// FuzzRunArgs checks the whole `tether run` command line (arguments
// separated by NUL in the input): it never panics; every error is a
// usageError whose text repeats no value (the values in the seeds carry a
// control character, and the text, printing flag names quoted, holds
// none); and a command line without error names the program, or asks for
// help.
func FuzzRunArgs(f *testing.F) {
	for _, s := range []string{
		"--timeout\x005s\x00--\x00prog\x00a",
		"--timeout=1.5\x00--grace\x002s\x00--signal=INT\x00prog",
		"-timeout\x00bad\x01secret\x00prog",
		"--memory-max=64M\x00--pids-max=10\x00--cpu-max\x000.5\x00--json\x00out.json\x00--quiet\x00--\x00prog",
		"--memory-max=1\x01G\x00prog",
		"--pids-max=\x01\x00prog",
		"--cpu-max=NaN\x01\x00prog",
		"--signal=NOPE\x01\x00prog",
		"--mechanism=\x01pgid\x00prog",
		"--quiet=maybe\x01\x00prog",
		"--json=\x00prog",
		"--\x01=\x01\x00prog",
		"--unknown=\x01secret\x00prog",
		"--timeout",
		"--help\x00--bogus",
		"-h",
		"--grace=1s\x00--signal=0\x00prog",
		"--memory-max=0.5\x00prog",
		"--",
		"",
		"-",
		"prog\x00--timeout\x00x",
		"-k5s\x00-sINT\x00--timeout=1d\x00--preserve-status\x00prog",
		"-k\x001\x00--grace\x002\x00prog",
		"--env\x00A=\x01b\x00--env=\x01\x00--chdir\x00/tmp\x00prog",
		"--uid=0\x00--gid\x00-1\x00--nice\x00-21\x00prog",
		"--version\x00--bogus",
		"-k\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		if s != "" {
			args = strings.Split(s, "\x00")
		}
		o, err := parseRunArgs(args)
		if o == nil {
			t.Fatalf("%q: nil options (error %v)", args, err)
		}
		if err != nil {
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("%q: error %T %v is not a usageError", args, err, err)
			}
			msg := err.Error()
			if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("%q: error text repeats a value: %q", args, msg)
			}
			return
		}
		if o.help || o.version {
			return
		}
		for _, kv := range o.env {
			if kv[0] == "" || strings.ContainsRune(kv[0], '=') || strings.ContainsRune(kv[0]+kv[1], 0) {
				t.Fatalf("%q: --env kept %q", args, kv)
			}
		}
		if o.niceSet && (o.nice < -20 || o.nice > 19) {
			t.Fatalf("%q: --nice kept %d", args, o.nice)
		}
		if len(o.limits) != len(o.limitOrder) {
			t.Fatalf("%q: limits %v, order %v", args, o.limits, o.limitOrder)
		}
		for _, k := range o.limitOrder {
			if verr := o.limits[k].Validate(); verr != nil {
				t.Fatalf("%q: limit %v kept: %v", args, o.limits[k], verr)
			}
		}
		if (o.signalSet || o.grace > 0) != (o.graceSig != nil) {
			t.Fatalf("%q: signal %q set %v, grace %v, graceful signal %v", args, o.signal, o.signalSet, o.grace, o.graceSig)
		}
		if o.timeout < 0 || o.grace < 0 {
			t.Fatalf("%q: timeout %v grace %v", args, o.timeout, o.grace)
		}
		if n := len(o.args) + 1; n > len(args) || o.program != args[len(args)-n] {
			t.Fatalf("%q: program %q args %q", args, o.program, o.args)
		}
	})
}
