//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/testchild"
)

// TestRunJSONRefusesBeforeTheSpawn: a --json path that is a symbolic link
// (to a file, or dangling), a directory, a FIFO no process reads, a
// character device other than the null device or a descriptor not open
// for writing is refused with 125 and one diagnostic saying what it is,
// before anything runs; a link's target is left as it was.
func TestRunJSONRefusesBeforeTheSpawn(t *testing.T) {
	dir := testchild.TempDir(t)
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	dangling := filepath.Join(dir, "dangling.json")
	fifo := filepath.Join(dir, "fifo")
	for _, err := range []error{
		os.Symlink(target, link),
		os.Symlink(filepath.Join(dir, "created-through-the-link"), dangling),
		unix.Mkfifo(fifo, 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]struct{ path, says string }{
		"symlink":           {link, "symbolic link"},
		"dangling symlink":  {dangling, "symbolic link"},
		"directory":         {dir, "directory"},
		"FIFO, no reader":   {fifo, "FIFO that no process has open for reading"},
		"character device":  {"/dev/zero", "character device"},
		"stdin":             {"/dev/fd/0", "not open for writing"},
		"closed descriptor": {"/proc/self/fd/987", "not open"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// In this process, so the program is a shell, not the test
			// binary (which runs as a helper child only with the
			// environment startTether gives it).
			ran := filepath.Join(testchild.TempDir(t), "ran")
			start := time.Now()
			code, stdout, stderr := runIn(t, "--json", c.path, "--", "sh", "-c", `: > "$1"`, "sh", ran)
			if code != exitTether || stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 125; stderr %q", code, stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "tether: cannot use the --json file: ") || !strings.Contains(stderr, c.says) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line saying %q", stderr, c.says)
			}
			if strings.Contains(stderr, dir) {
				t.Errorf("stderr names the path: %q", stderr)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("the program ran")
			}
			if took := time.Since(start); took > testchild.Patience/2 {
				t.Errorf("refusing took %v", took)
			}
		})
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep me\n" {
		t.Errorf("the link's target now holds %q (%v)", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "created-through-the-link")); err == nil {
		t.Error("a file was created through the dangling link")
	}
}

// TestRunJSONAcceptsWhatIsSafe: an existing regular file is replaced by
// the report; the null device takes it; a FIFO with a reader gets it;
// /dev/stdout, /dev/stderr and /dev/fd/N write it to tether's own
// descriptor after the program's output, truncating nothing.
func TestRunJSONAcceptsWhatIsSafe(t *testing.T) {
	dir := testchild.TempDir(t)

	t.Run("existing file", func(t *testing.T) {
		path := filepath.Join(dir, "old.json")
		if err := os.WriteFile(path, []byte(strings.Repeat("old content\n", 100)), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, tp := runTether(t, nil, append([]string{"--json", path}, script("exit", "4")...)...); code != 4 {
			t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
		}
		if r := readReport(t, path); r["status"] != 4.0 {
			t.Errorf("report %v", r)
		}
	})

	t.Run("null device", func(t *testing.T) {
		if code, tp := runTether(t, nil, append([]string{"--json", os.DevNull}, script("exit", "4")...)...); code != 4 {
			t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
		}
	})

	t.Run("FIFO with a reader", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		// O_RDWR opens a FIFO at once, as a reader, on Linux and the BSDs.
		r, err := os.OpenFile(fifo, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if code, tp := runTether(t, nil, append([]string{"--json", fifo}, script("exit", "4")...)...); code != 4 {
			t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
		}
		var rep report
		if err := json.NewDecoder(bufio.NewReader(r)).Decode(&rep); err != nil || rep["status"] != 4.0 {
			t.Errorf("read from the FIFO: %v, %v", rep, err)
		}
	})

	for _, c := range []struct {
		path   string
		stream string
	}{{"/dev/stdout", "stdout"}, {"/dev/stderr", "stderr"}, {"/dev/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}} {
		t.Run(c.path, func(t *testing.T) {
			if _, err := os.Stat(c.path); err != nil {
				t.Skipf("%s does not exist here: %v", c.path, err)
			}
			// tether's stdout and stderr are pipes here: opening the path
			// would work only for a fresh open of the pipe, and for a
			// file it would truncate the program's output.
			code, tp := runTether(t, nil, append([]string{"--json", c.path}, script("out", "program out\n", "err", "program err\n", "exit", "5")...)...)
			if code != 5 {
				t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
			}
			out := tp.stdout.String()
			if c.stream == "stderr" {
				out = tp.stderr.String()
			}
			head := "program " + strings.TrimPrefix(c.stream, "std") + "\n"
			body, ok := strings.CutPrefix(out, head)
			var rep report
			if !ok || json.Unmarshal([]byte(body), &rep) != nil || rep["status"] != 5.0 {
				t.Errorf("%s: %q; want the program's line, then the report", c.stream, out)
			}
		})
	}

	t.Run("descriptor 3", func(t *testing.T) {
		path := filepath.Join(dir, "fd3.json")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("before\n"); err != nil {
			t.Fatal(err)
		}
		tp := startTetherWith(t, func(cmd *exec.Cmd) { cmd.ExtraFiles = []*os.File{f} }, append([]string{"--json", "/dev/fd/3"}, script("exit", "6")...)...)
		f.Close()
		if code := tp.exitCode(t); code != 6 {
			t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
		}
		b, _ := os.ReadFile(path)
		var rep report
		body, ok := strings.CutPrefix(string(b), "before\n")
		if !ok || json.Unmarshal([]byte(body), &rep) != nil || rep["status"] != 6.0 {
			t.Errorf("the file holds %q; want what was there, then the report", b)
		}
	})
}

// TestOpenJSONNeverFollowsASwappedLink races openJSON against a path that
// flips between a regular file and a symbolic link to another file: the
// link's target must never be truncated, whatever the open happens to
// meet (a check of the path before the open would lose this race).
func TestOpenJSONNeverFollowsASwappedLink(t *testing.T) {
	dir := testchild.TempDir(t)
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "result.json")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmpLink, tmpFile := path+".link", path+".file"
		for !stop.Load() {
			_ = os.Symlink(target, tmpLink)
			_ = os.Rename(tmpLink, path)
			_ = os.WriteFile(tmpFile, nil, 0o600)
			_ = os.Rename(tmpFile, path)
		}
	}()
	opened, refused := 0, 0
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); {
		f, err := openJSON(path)
		var refusal jsonRefusal
		switch {
		case err == nil:
			opened++
			f.Close()
		case errors.As(err, &refusal):
			refused++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("opened %d times, refused %d times", opened, refused)
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep me\n" {
		t.Fatalf("the link's target was truncated: %q (%v)", b, err)
	}
	if opened == 0 || refused == 0 {
		t.Logf("the race met only one kind of file (opened %d, refused %d)", opened, refused)
	}
}
