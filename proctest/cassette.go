package proctest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/proc"
)

// CassetteVersion is the format version a Cassette writes, in the file's
// "version" field. Reading a file of another version fails with a
// *CassetteVersionError.
const CassetteVersion = 1

// RecordEnv is the environment variable that ModeFromEnv reads: set it
// to 1 to record cassettes afresh (TETHER_RECORD=1 go test ./...).
const RecordEnv = "TETHER_RECORD"

// Mode says whether a Cassette replays or records.
type Mode int

// The modes.
const (
	// Replay answers every command from the file and never runs
	// anything; a command the file lacks fails with *CassetteMissError.
	Replay Mode = iota + 1
	// Record runs every command with the wrapped runner and, on Save,
	// writes all of them to the file, replacing what it held.
	Record
	// Auto replays if the file exists and records if it does not.
	Auto
)

func (m Mode) String() string {
	switch m {
	case Replay:
		return "replay"
	case Record:
		return "record"
	case Auto:
		return "auto"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ModeFromEnv returns Record when the environment variable
// TETHER_RECORD (RecordEnv) is "1" or "true", and Replay otherwise: a
// test run never records unless asked to.
func ModeFromEnv() Mode {
	switch os.Getenv(RecordEnv) {
	case "1", "true":
		return Record
	}
	return Replay
}

// Errors of cassettes, for errors.Is.
var (
	// ErrCassetteMiss: a replaying Cassette has no recording of the
	// command (see *CassetteMissError).
	ErrCassetteMiss = errors.New("proctest: command not in cassette")
	// ErrCassetteVersion: the file has an unknown format version (see
	// *CassetteVersionError).
	ErrCassetteVersion = errors.New("proctest: unknown cassette version")
	// ErrCassetteStdinKey: the file checks stdin with keyed digests
	// (Interaction.StdinHMAC), and the replaying Cassette was given no
	// CassetteOptions.StdinKey to compute them with.
	ErrCassetteStdinKey = errors.New("proctest: cassette needs its stdin key")
)

// CassetteMissError reports a command that a replaying Cassette has no
// recording of. Nothing was run. Error names the program and counts the
// arguments, for the nearest recording too, without printing argument
// values (they can be secret, and the cassette file holds them anyway);
// Diff compares the two in full.
type CassetteMissError struct {
	Path    string
	Program string
	Args    []string
	// Nearest is the index in the file of the recording most like the
	// command (-1 if the file has none); NearestProgram and NearestArgs
	// are its program and argument count.
	Nearest        int
	NearestProgram string
	NearestArgs    int
	// Diff is cmp.Diff(recorded, command) over program, arguments,
	// directory and stdin.
	Diff string
}

func (e *CassetteMissError) Error() string {
	s := "proctest: cassette " + e.Path + " has no recording of " + strconv.Quote(e.Program) +
		" with " + strconv.Itoa(len(e.Args)) + " argument(s); "
	if e.Nearest >= 0 {
		s += "nearest is #" + strconv.Itoa(e.Nearest) + ", " + strconv.Quote(e.NearestProgram) +
			" with " + strconv.Itoa(e.NearestArgs) + " argument(s) (CassetteMissError.Diff compares them); "
	}
	return s + "nothing was run (record again with " + RecordEnv + "=1)"
}

// Unwrap returns ErrCassetteMiss.
func (e *CassetteMissError) Unwrap() error { return ErrCassetteMiss }

// CassetteVersionError reports a cassette file whose format version this
// package does not know.
type CassetteVersionError struct {
	Path    string
	Version int
}

func (e *CassetteVersionError) Error() string {
	return fmt.Sprintf("proctest: cassette %s has format version %d; this package reads version %d (record it again with %s=1)",
		e.Path, e.Version, CassetteVersion, RecordEnv)
}

// Unwrap returns ErrCassetteVersion.
func (e *CassetteVersionError) Unwrap() error { return ErrCassetteVersion }

// Interaction is one recorded run: the invocation (what replay matches
// on) and what came of it. Environment values are never recorded, only
// the names the command set, and nothing of stdin's bytes unless the
// cassette has a StdinKey.
type Interaction struct {
	// The invocation. A replayed command matches on Program, Args, Dir,
	// Stdin, StdinHMAC and StderrToStdout.
	Program string
	Args    []string
	Dir     string
	// EnvNames lists the variables the command set (Cmd.SetEnv), sorted;
	// they are not matched on.
	EnvNames []string
	// Stdin is where stdin came from, as in proc.Spec ("" for none).
	// Replay matches on this kind; the bytes themselves are matched only
	// for a cassette with a CassetteOptions.StdinKey, through StdinHMAC,
	// the hex HMAC-SHA-256 of the bytes of StdinBytes or StdinString
	// keyed with it ("" otherwise). Other kinds of stdin ("lines",
	// "file", "reader", ...) are matched on the kind alone: their content
	// is not known before the run.
	Stdin     string
	StdinHMAC string
	// StderrToStdout is set for a command whose stderr went to its
	// stdout (proc.ToStdout): Stdout then holds both streams, and Stderr
	// nothing. Replay matches on it, so such a recording is never
	// replayed for a command that keeps the streams apart, or the other
	// way round.
	StderrToStdout bool

	// The result. Error is set when the run could not start:
	// "not_found", "permission", "start" or "dir" (ErrorText then holds
	// the cause's text for "start"). Otherwise Outcome is the
	// proc.Outcome's name ("exited", "signaled", "timed out", "idle timed
	// out"), with ExitCode, Signal and the captured output.
	Error     string
	ErrorText string
	Outcome   string
	ExitCode  int
	Signal    string
	Stdout    string
	Stderr    string
}

// ReplaceAll returns a scrub function (CassetteOptions.Scrub) that
// replaces old with replacement in the arguments, the directory, the
// output and the error text of every interaction: a token, a home
// directory, the temporary directory of a test. An empty old does
// nothing.
func ReplaceAll(old, replacement string) func(*Interaction) {
	return func(in *Interaction) {
		if old == "" {
			return
		}
		for i, a := range in.Args {
			in.Args[i] = strings.ReplaceAll(a, old, replacement)
		}
		in.Dir = strings.ReplaceAll(in.Dir, old, replacement)
		in.Stdout = strings.ReplaceAll(in.Stdout, old, replacement)
		in.Stderr = strings.ReplaceAll(in.Stderr, old, replacement)
		in.ErrorText = strings.ReplaceAll(in.ErrorText, old, replacement)
	}
}

// CassetteOptions configures OpenCassette and UseCassette.
type CassetteOptions struct {
	// Mode is Replay, Record or Auto; zero means ModeFromEnv().
	Mode Mode
	// Runner runs the commands being recorded; nil means
	// proc.DefaultRunner() (real processes).
	Runner proc.Runner
	// Scrub, if set, redacts each interaction before it is written. It is
	// also applied to every command before it is looked up for replay
	// (with no result fields set), so a redacted argument or directory
	// still matches: it must rewrite the same input the same way every
	// time.
	Scrub func(*Interaction)
	// StdinKey, if set, makes the cassette check byte stdin (StdinBytes,
	// StdinString): recording stores the HMAC-SHA-256 of the bytes keyed
	// with StdinKey (Interaction.StdinHMAC), and replay matches a command
	// only if its stdin gives the same digest. The key is never written:
	// keep it out of the repository (a CI secret, an environment
	// variable), and give the same key to record and to replay. Without
	// the key, a digest in the file cannot be checked against a guess, so
	// a short secret passed on stdin cannot be recovered from the file by
	// trying candidates, as it could from a plain hash. Use a key of at
	// least 32 random bytes.
	//
	// Without StdinKey (the default) the file holds nothing derived from
	// stdin's bytes, and replay does not check them: a recording matches
	// a command whatever bytes it passes on stdin (the kind of stdin still
	// has to match). Replaying a file that holds digests without a key
	// fails with ErrCassetteStdinKey; replaying with a key a recording
	// made without one is a miss for every command with byte stdin (the
	// Diff shows StdinHMAC): record it again with the key.
	StdinKey []byte
}

// Cassette is a proc.Runner that records runs to a JSON file and replays
// them. Recording runs each command with the wrapped runner and keeps
// the interaction; Save writes them all. Replaying answers each command
// from the file without running anything: a command recorded more than
// once replays its recordings in order, then repeats the last. Start
// returns a RunningProcess that replays the recorded output through
// proc.FakeProcess (all of it at once: timing is not recorded).
//
// The file is indented JSON meant to be read in a diff and committed
// under testdata. Environment values are never written, and nothing
// derived from stdin's bytes unless CassetteOptions.StdinKey is set. A
// Cassette is safe for concurrent use.
type Cassette struct {
	path  string
	mode  Mode // Replay or Record
	next  proc.Runner
	scrub func(*Interaction)
	key   []byte // CassetteOptions.StdinKey
	t     testing.TB
	// legacy counts the interactions of the file that held a stdin_sha256
	// field, which is ignored (see parseCassette).
	legacy int

	mu       sync.Mutex
	recorded []Interaction
	tape     []Interaction
	pos      map[string]int // per invocation key: how many replayed
}

// OpenCassette returns a Cassette for the file at path. In Replay mode
// (or Auto with an existing file) it reads the file now: a missing file
// is an error matching fs.ErrNotExist, an unknown version a
// *CassetteVersionError, a file with stdin digests opened without
// CassetteOptions.StdinKey an error matching ErrCassetteStdinKey.
//
// A file written before stdin digests were keyed holds a stdin_sha256
// field (an unsalted SHA-256 of the stdin bytes) on some interactions.
// It still loads: the field is ignored (those recordings match whatever
// stdin bytes), and recording the file again drops it. Until then the
// file still holds a digest from which a short secret passed on stdin
// can be guessed: re-record it (with a StdinKey if stdin must be
// checked), or delete the field by hand. UseCassette says so in the test
// log.
func OpenCassette(path string, opts CassetteOptions) (*Cassette, error) {
	c := &Cassette{path: path, mode: opts.Mode, next: opts.Runner, scrub: opts.Scrub, pos: map[string]int{}}
	if len(opts.StdinKey) > 0 {
		c.key = slices.Clone(opts.StdinKey)
	}
	if c.mode == 0 {
		c.mode = ModeFromEnv()
	}
	if c.next == nil {
		c.next = proc.DefaultRunner()
	}
	if c.mode == Auto {
		c.mode = Replay
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			c.mode = Record
		}
	}
	if c.mode != Replay && c.mode != Record {
		return nil, fmt.Errorf("proctest: cassette %s: unknown mode %v", path, opts.Mode)
	}
	if c.mode == Replay {
		tape, legacy, err := readCassette(path)
		if err != nil {
			return nil, err
		}
		if c.key == nil && slices.ContainsFunc(tape, func(in Interaction) bool { return in.StdinHMAC != "" }) {
			return nil, fmt.Errorf("proctest: cassette %s checks stdin with keyed digests (stdin_hmac_sha256); replaying it needs the key it was recorded with, in CassetteOptions.StdinKey: %w", path, ErrCassetteStdinKey)
		}
		c.tape, c.legacy = tape, legacy
	}
	return c, nil
}

// UseCassette opens the cassette at path for a test (see OpenCassette)
// and fails the test (Fatalf) if it cannot. When recording, it saves the
// cassette as the test ends, unless the test failed: a failed recording
// is not written (the test log says so). A command the cassette lacks
// also fails the test (Errorf) with a cmp.Diff against the nearest
// recording.
func UseCassette(t testing.TB, path string, opts CassetteOptions) *Cassette {
	t.Helper()
	c, err := OpenCassette(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	if c.legacy > 0 {
		t.Logf("proctest: cassette %s holds %d unkeyed stdin digest(s) (stdin_sha256), which are ignored; a short secret passed on stdin can be guessed from them: record the cassette again to drop them", path, c.legacy)
	}
	if c.mode == Record {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("proctest: the test failed; cassette %s was not written", path)
				return
			}
			if err := c.Save(); err != nil {
				t.Error(err)
			}
		})
	}
	return c
}

// Mode returns Replay or Record: what the Cassette does (Auto resolved).
func (c *Cassette) Mode() Mode { return c.mode }

// Output replays c, or runs and records it.
func (c *Cassette) Output(ctx context.Context, cmd *proc.Cmd) (*proc.Result, error) {
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	if c.mode == Record {
		r, err := c.next.Output(ctx, cmd)
		c.record(cmd, r, err)
		return r, err
	}
	p, err := c.replay(ctx, cmd, proc.NewFakeOutput)
	if err != nil {
		return nil, err
	}
	<-p.Done()
	return p.Wait(context.Background())
}

// Start replays c, or starts it and records it once it has ended.
func (c *Cassette) Start(ctx context.Context, cmd *proc.Cmd) (*proc.RunningProcess, error) {
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	if c.mode == Replay {
		return c.replay(ctx, cmd, proc.NewFakeProcess)
	}
	p, err := c.next.Start(ctx, cmd)
	if err != nil {
		c.record(cmd, nil, err)
		return nil, err
	}
	go func() {
		<-p.Done()
		r, err := p.Wait(context.Background())
		c.record(cmd, r, err)
	}()
	return p, nil
}

// invocation is what replay matches on.
type invocation struct {
	Program        string
	Args           []string
	Dir            string
	Stdin          string
	StdinHMAC      string
	StderrToStdout bool `json:",omitempty"`
}

func (in Interaction) invocation() invocation {
	return invocation{in.Program, in.Args, in.Dir, in.Stdin, in.StdinHMAC, in.StderrToStdout}
}

func (v invocation) key() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// request describes cmd as an Interaction without a result.
func (c *Cassette) request(cmd *proc.Cmd) Interaction {
	sp := cmd.Spec()
	in := Interaction{Program: sp.Name, Args: sp.Args, Dir: sp.Dir, Stdin: sp.Stdin, StderrToStdout: sp.StderrToStdout}
	if in.Args == nil {
		in.Args = []string{}
	}
	if sp.Stdin == "bytes" && c.key != nil {
		mac := hmac.New(sha256.New, c.key)
		mac.Write(sp.StdinBytes)
		in.StdinHMAC = hex.EncodeToString(mac.Sum(nil))
	}
	for _, kv := range sp.Env {
		if !slices.Contains(in.EnvNames, kv[0]) {
			in.EnvNames = append(in.EnvNames, kv[0])
		}
	}
	slices.Sort(in.EnvNames)
	return in
}

func (c *Cassette) record(cmd *proc.Cmd, r *proc.Result, err error) {
	in := c.request(cmd)
	var nf *proc.NotFoundError
	var se *proc.StartError
	var de *proc.DirError
	switch {
	case errors.As(err, &nf):
		in.Error = "not_found"
	case errors.As(err, &de):
		in.Error = "dir"
	case errors.As(err, &se) && errors.Is(err, fs.ErrPermission):
		in.Error = "permission"
	case errors.As(err, &se):
		in.Error, in.ErrorText = "start", se.Err.Error()
	case r == nil || r.Outcome == proc.Cancelled:
		// Nothing worth replaying: a cancellation belongs to the test's
		// context, and other failures to this machine.
		return
	default:
		in.Outcome, in.ExitCode, in.Signal = r.Outcome.String(), r.ExitCode, r.Signal
		in.Stdout, in.Stderr = string(r.Stdout), string(r.Stderr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recorded = append(c.recorded, in)
}

var outcomes = map[string]proc.Outcome{}

func init() {
	for _, o := range []proc.Outcome{proc.Exited, proc.Signaled, proc.TimedOut, proc.Cancelled, proc.IdleTimedOut} {
		outcomes[o.String()] = o
	}
}

// replay plays the recorded interaction that matches cmd with a fake made
// by newFake: proc.NewFakeOutput for Output, proc.NewFakeProcess for
// Start, so a replayed run reports what the real verb would.
func (c *Cassette) replay(ctx context.Context, cmd *proc.Cmd, newFake func(context.Context, *proc.Cmd, int) (*proc.FakeProcess, error)) (*proc.RunningProcess, error) {
	want := c.request(cmd)
	if c.scrub != nil {
		c.scrub(&want)
	}
	key := want.invocation().key()
	c.mu.Lock()
	var hits []int
	for i, in := range c.tape {
		if in.invocation().key() == key {
			hits = append(hits, i)
		}
	}
	var in Interaction
	if len(hits) > 0 {
		n := c.pos[key]
		c.pos[key] = n + 1
		in = c.tape[hits[min(n, len(hits)-1)]]
	}
	c.mu.Unlock()
	if len(hits) == 0 {
		e := c.miss(want)
		if c.t != nil {
			c.t.Helper()
			c.t.Errorf("%v\ndiff (-recorded +command):\n%s", e, e.Diff)
		}
		return nil, e
	}
	switch in.Error {
	case "not_found":
		return playWith(ctx, cmd, NotFound(), newFake)
	case "permission":
		return playWith(ctx, cmd, StartFailure(fs.ErrPermission), newFake)
	case "start":
		return playWith(ctx, cmd, StartFailure(errors.New(in.ErrorText)), newFake)
	case "dir":
		return nil, &proc.DirError{Dir: cmd.Spec().Dir, Err: fs.ErrNotExist}
	}
	return playWith(ctx, cmd, Reply{kind: replyEnd, outcome: outcomes[in.Outcome], code: in.ExitCode,
		signal: in.Signal, stdout: in.Stdout, stderr: in.Stderr}, newFake)
}

func (c *Cassette) miss(want Interaction) *CassetteMissError {
	e := &CassetteMissError{Path: c.path, Program: want.Program, Args: want.Args, Nearest: -1}
	best := -1 << 30
	got := append([]string{want.Program}, want.Args...)
	for i, in := range c.tape {
		score := similarity(append([]string{in.Program}, in.Args...), got)
		if in.Dir == want.Dir {
			score += 5
		}
		if score > best {
			best, e.Nearest = score, i
		}
	}
	if e.Nearest >= 0 {
		near := c.tape[e.Nearest]
		e.NearestProgram, e.NearestArgs = near.Program, len(near.Args)
		e.Diff = cmp.Diff(near.invocation(), want.invocation())
	}
	return e
}

// Interactions returns what was recorded so far (Record mode, before
// scrubbing) or what the file holds (Replay mode).
func (c *Cassette) Interactions() []Interaction {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode == Record {
		return slices.Clone(c.recorded)
	}
	return slices.Clone(c.tape)
}

// Save writes what was recorded to the file, scrubbed, replacing it; in
// Replay mode it does nothing. The write is atomic (a temporary file in
// the same directory, then a rename) and the file's mode is 0600. Save
// refuses to write through a symbolic link at path. A run started with
// Start is recorded once it has ended: wait for it before saving.
func (c *Cassette) Save() error {
	if c.mode != Record {
		return nil
	}
	c.mu.Lock()
	ins := make([]Interaction, len(c.recorded))
	for i, in := range c.recorded {
		in.Args, in.EnvNames = slices.Clone(in.Args), slices.Clone(in.EnvNames)
		if c.scrub != nil {
			c.scrub(&in)
		}
		ins[i] = in
	}
	c.mu.Unlock()
	return writeCassette(c.path, ins)
}

// The file format. Output that is not valid UTF-8 is written in base64
// (stdout_base64), so the file stays valid, diffable JSON.
type cassetteFile struct {
	Version      int               `json:"version"`
	Interactions []fileInteraction `json:"interactions"`
}

type fileInteraction struct {
	Program   string   `json:"program"`
	Args      []string `json:"args"`
	Dir       string   `json:"dir,omitempty"`
	EnvNames  []string `json:"env_names,omitempty"`
	Stdin     string   `json:"stdin,omitempty"`
	StdinHMAC string   `json:"stdin_hmac_sha256,omitempty"`
	// StderrToStdout: the command's stderr went to its stdout.
	StderrToStdout bool `json:"stderr_to_stdout,omitempty"`
	// LegacyStdinSHA256 is read, never written, and ignored: an unkeyed
	// digest of stdin that earlier versions wrote (see OpenCassette).
	LegacyStdinSHA256 string  `json:"stdin_sha256,omitempty"`
	Error             string  `json:"error,omitempty"`
	ErrorText         string  `json:"error_text,omitempty"`
	Outcome           string  `json:"outcome,omitempty"`
	ExitCode          int     `json:"exit_code"`
	Signal            string  `json:"signal,omitempty"`
	Stdout            *string `json:"stdout,omitempty"`
	StdoutBase64      *string `json:"stdout_base64,omitempty"`
	Stderr            *string `json:"stderr,omitempty"`
	StderrBase64      *string `json:"stderr_base64,omitempty"`
}

func encodeText(s string) (text, b64 *string) {
	if s == "" {
		return nil, nil
	}
	if utf8.ValidString(s) {
		return &s, nil
	}
	e := base64.StdEncoding.EncodeToString([]byte(s))
	return nil, &e
}

func decodeText(text, b64 *string) (string, error) {
	if b64 != nil {
		b, err := base64.StdEncoding.DecodeString(*b64)
		return string(b), err
	}
	if text != nil {
		return *text, nil
	}
	return "", nil
}

// encodeCassette is the file's content for ins.
func encodeCassette(ins []Interaction) ([]byte, error) {
	f := cassetteFile{Version: CassetteVersion, Interactions: make([]fileInteraction, len(ins))}
	for i, in := range ins {
		fi := fileInteraction{Program: in.Program, Args: in.Args, Dir: in.Dir, EnvNames: in.EnvNames,
			Stdin: in.Stdin, StdinHMAC: in.StdinHMAC, StderrToStdout: in.StderrToStdout, Error: in.Error, ErrorText: in.ErrorText,
			Outcome: in.Outcome, ExitCode: in.ExitCode, Signal: in.Signal}
		fi.Stdout, fi.StdoutBase64 = encodeText(in.Stdout)
		fi.Stderr, fi.StderrBase64 = encodeText(in.Stderr)
		f.Interactions[i] = fi
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCassette(path string, ins []Interaction) error {
	b, err := encodeCassette(ins)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("proctest: cassette %s is a symbolic link; refusing to write through it: %w", path, fs.ErrInvalid)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("proctest: writing cassette: %w", err)
	}
	ok = true
	return nil
}

func readCassette(path string) (ins []Interaction, legacy int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("proctest: reading cassette: %w", err)
	}
	return parseCassette(path, b)
}

// parseCassette decodes b, the content of the cassette file at path.
// legacy counts the interactions with a stdin_sha256 field, which is
// dropped.
func parseCassette(path string, b []byte) (ins []Interaction, legacy int, err error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, 0, fmt.Errorf("proctest: cassette %s: %w", path, err)
	}
	if head.Version != CassetteVersion {
		return nil, 0, &CassetteVersionError{Path: path, Version: head.Version}
	}
	var f cassetteFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, 0, fmt.Errorf("proctest: cassette %s: %w", path, err)
	}
	ins = make([]Interaction, len(f.Interactions))
	for i, fi := range f.Interactions {
		in := Interaction{Program: fi.Program, Args: fi.Args, Dir: fi.Dir, EnvNames: fi.EnvNames,
			Stdin: fi.Stdin, StdinHMAC: fi.StdinHMAC, StderrToStdout: fi.StderrToStdout, Error: fi.Error, ErrorText: fi.ErrorText,
			Outcome: fi.Outcome, ExitCode: fi.ExitCode, Signal: fi.Signal}
		if fi.LegacyStdinSHA256 != "" {
			legacy++
		}
		if in.Args == nil {
			in.Args = []string{}
		}
		if _, ok := outcomes[in.Outcome]; in.Error == "" && !ok {
			return nil, 0, fmt.Errorf("proctest: cassette %s: interaction %d: unknown outcome %q", path, i, fi.Outcome)
		}
		var err error
		if in.Stdout, err = decodeText(fi.Stdout, fi.StdoutBase64); err == nil {
			in.Stderr, err = decodeText(fi.Stderr, fi.StderrBase64)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("proctest: cassette %s: interaction %d: %w", path, i, err)
		}
		ins[i] = in
	}
	return ins, legacy, nil
}
