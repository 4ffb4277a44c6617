package proc_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestStdinFileIsPassedToTheChild: an *os.File given to Stdin is the
// child's stdin itself, as with os/exec (the child sees a regular file or
// a pipe, not a pipe tether fills), and the run leaves the caller's file
// open.
func TestStdinFileIsPassedToTheChild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		path := filepath.Join(testchild.TempDir(t), "in")
		if err := os.WriteFile(path, []byte("from the file\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out, err := script("stdinkind", "out", " ", "cat").Stdin(f).Backend(b).Run(ctx)
		if err != nil || out != "file from the file" {
			t.Fatalf("Run = %q, %v; want the child to read the file itself", out, err)
		}
		if _, err := f.Stat(); err != nil {
			t.Fatalf("the run closed the caller's file: %v", err)
		}

		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		go func() {
			_, _ = io.WriteString(w, "through the pipe\n")
			w.Close()
		}()
		out, err = script("stdinkind", "out", " ", "cat").Stdin(r).Backend(b).Run(ctx)
		if err != nil || out != "pipe through the pipe" {
			t.Fatalf("Run = %q, %v", out, err)
		}
	})
}

// TestStdinReaderStillCopied: a reader that is not an *os.File (here one
// that hides the file) goes through a pipe tether fills.
func TestStdinReaderStillCopied(t *testing.T) {
	ctx := ctxFor(t, patience)
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := script("stdinkind").Stdin(struct{ io.Reader }{f}).Run(ctx)
	if err != nil || out != "pipe" {
		t.Fatalf("Run = %q, %v; want a pipe", out, err)
	}
}

func TestStdinNilOrClosedFile(t *testing.T) {
	ctx := ctxFor(t, patience)
	if _, err := script("cat").Stdin((*os.File)(nil)).Output(ctx); !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("a nil *os.File: %v; want ErrInvalid", err)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := script("cat").Stdin(f).Output(ctx)
	var se *proc.StartError
	if r != nil || !errors.As(err, &se) {
		t.Fatalf("a closed *os.File: %+v, %v; want a *StartError and nothing run", r, err)
	}
}
