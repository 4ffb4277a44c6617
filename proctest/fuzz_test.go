package proctest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzCassettePath is the name the fuzzed content is read under.
const fuzzCassettePath = "testdata/fuzz.json"

// cassetteSeeds are files a cassette may hold: written by this package,
// edited by hand, damaged, or of another version.
func cassetteSeeds(f *testing.F) [][]byte {
	git, err := os.ReadFile("testdata/git.json")
	if err != nil {
		f.Fatal(err)
	}
	written, err := encodeCassette([]Interaction{
		{Program: "git", Args: []string{"log", "--oneline", "-n", "1"}, Dir: "/repo", EnvNames: []string{"GIT_DIR", "LANG"},
			Outcome: "exited", Stdout: "32d402f testchild: give a helper\n"},
		{Program: "tool", Args: []string{}, Stdin: "bytes", StdinHMAC: strings.Repeat("ab", 32),
			Outcome: "exited", ExitCode: 3, Stdout: "\xff\x00binary", Stderr: "héllo \u2028 <&>\n"},
		{Program: "sleep", Args: []string{"100"}, Outcome: "signaled", ExitCode: -1, Signal: "SIGKILL"},
		{Program: "slow", Args: []string{}, Outcome: "timed out", ExitCode: -1},
		{Program: "quiet", Args: []string{}, Outcome: "idle timed out", ExitCode: -1},
		{Program: "ffmpeg", Args: []string{}, Error: "not_found"},
		{Program: "./locked", Args: []string{}, Error: "permission"},
		{Program: "x", Args: []string{}, Error: "start", ErrorText: "exec format error"},
		{Program: "y", Args: []string{}, Dir: "/gone", Error: "dir"},
	})
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{
		git,
		written,
		[]byte(`{"version":1,"interactions":[]}`),
		[]byte(`{"version":1,"interactions":null}`),
		[]byte(`{"version":1}`),
		[]byte(`{"Version":1,"Interactions":[{"Program":"a","Outcome":"exited","Stdout":"x"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","args":null,"env_names":[],"outcome":"exited","stdout":"","stdout_base64":"","stderr_base64":"/w=="}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"exited","stdout":"t","stdout_base64":"aGk="}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a\u0000b\ud800","outcome":"exited","stdout":"\xff"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","error":"mystery"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"cancelled"}]}`),
		[]byte(`{"version":1,"version":2}`),
		// Written before stdin digests were keyed: stdin_sha256 is read and dropped.
		[]byte(`{"version":1,"interactions":[{"program":"a","args":[],"stdin":"bytes","stdin_sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","outcome":"exited"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","stdin":"bytes","stdin_sha256":"x","stdin_hmac_sha256":"y","outcome":"exited"}]}`),
		// Bad ones: each must fail with a typed error.
		nil,
		[]byte("null"),
		[]byte("{}"),
		[]byte(`{"version":2,"interactions":[]}`),
		[]byte(`{"version":"1"}`),
		[]byte(`{"version":1.5}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"bogus"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"exited","colour":"red"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"exited","stdout_base64":"!!"}]}`),
		[]byte(`{"version":1,"interactions":[{"program":"a","outcome":"exited","exit_code":1e99}]}`),
		[]byte(`{"version":1,"interactions":{}}`),
		[]byte(`{"version":1,"interactions":[]} trailing`),
		[]byte(`{"version":1,"interactions":[` + strings.Repeat("[", 20000)),
		[]byte("\xef\xbb\xbf{\"version\":1}"),
	}
}

// FuzzCassette feeds any bytes to the cassette file parser: it never
// panics; a file it rejects fails with a *CassetteVersionError or with an
// error naming the file that wraps the JSON or base64 error (only an
// unknown field or outcome is reported untyped); a file it accepts writes
// back to a file that reads as the same interactions, and writing that
// again gives the same bytes.
func FuzzCassette(f *testing.F) {
	for _, s := range cassetteSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ins, _, err := parseCassette(fuzzCassettePath, data)
		if err != nil {
			checkCassetteError(t, data, err)
			return
		}
		for i, in := range ins {
			if in.Args == nil {
				t.Fatalf("interaction %d: nil Args", i)
			}
		}
		out, err := encodeCassette(ins)
		if err != nil {
			t.Fatalf("%q read, but does not write: %v", data, err)
		}
		again, legacy, err := parseCassette(fuzzCassettePath, out)
		if err != nil {
			t.Fatalf("%q read, written as\n%s\nwhich does not read: %v", data, out, err)
		}
		if legacy != 0 {
			t.Fatalf("%q read, written as\n%s\nwhich still holds %d unkeyed stdin digests", data, out, legacy)
		}
		if d := cmp.Diff(ins, again, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%q read, written as\n%s\nreads differently (-first +second):\n%s", data, out, d)
		}
		if out2, err := encodeCassette(again); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("written twice, differently (%v):\n%s\n%s", err, out, out2)
		}
	})
}

func checkCassetteError(t *testing.T, data []byte, err error) {
	t.Helper()
	var (
		ve  *CassetteVersionError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
		ce  base64.CorruptInputError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &ve):
		if ve.Path != fuzzCassettePath || ve.Version == CassetteVersion || !errors.Is(err, ErrCassetteVersion) {
			t.Fatalf("%q: version error %+v", data, ve)
		}
	case !strings.HasPrefix(msg, "proctest: cassette "+fuzzCassettePath+": "):
		t.Fatalf("%q: error does not name the file: %v", data, err)
	case errors.As(err, &se), errors.As(err, &ute), errors.As(err, &ce):
	case strings.Contains(msg, ": json: unknown field "), strings.Contains(msg, ": unknown outcome "):
	default:
		t.Fatalf("%q: untyped error %T: %v", data, err, err)
	}
}
