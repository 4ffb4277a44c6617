//go:build linux

package cgroupv2

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/poll"
)

// Raw cgroupfs access. The backend does all of its cgroup work on the
// interface files, with these helpers: creation (makeLeaf's os.Mkdir),
// the limits (writeLimits: memory.max, memory.swap.max, pids.max,
// cpu.max), adoption (a pid written to cgroup.procs), member listing
// (treeProcs), freezing (cgroup.freeze, confirmed in cgroup.events),
// statistics, kill (cgroup.kill) and removal (removeTree).
//
// containerd/cgroups, which wrote the limits and made the adoption, is
// linked no more: for those three writes its cgroup2 package brought
// protobuf, cilium/ebpf and logrus into every binary, and their package
// initialisation into every start (docs/architecture.md has the figures).
// It is the oracle of the limit tests instead. The rest of it never
// fitted: NewManager's MkdirAll would adopt an existing, possibly killed,
// cgroup; Manager.Procs stats every interface file of every cgroup;
// Manager.Delete has no sentinel error; Manager.Freeze returns before the
// kernel reports "frozen 1" (it re-reads cgroup.freeze, the wish, not
// cgroup.events, the fact); Manager.Stat reports zeros instead of
// "unavailable" for absent controllers; and Manager.Kill silently falls
// back to a per-pid loop when cgroup.kill fails, where we want the error.

// writeFile writes value to the interface file name in dir, in one write
// (the kernel parses each write as a whole). The file is not created: an
// absent one, a controller not enabled, is an error matching
// os.ErrNotExist.
func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readKV reads a flat-keyed file such as cgroup.events or cpu.stat.
func readKV(path string) (keyed, error) {
	b, err := readSmall(path)
	return keyed(b), err
}

// keyed is the text of a flat-keyed file, one "key value" pair a line.
// It is looked up where it lies: a run reads four of these files, and
// parsing each into a map cost eight allocations.
type keyed []byte

// lookup returns the value of key, and whether the file has it as a
// number.
func (kv keyed) lookup(key string) (uint64, bool) {
	b := []byte(kv)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok || string(k) != key {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// get is lookup's value alone: 0 when the key is absent.
func (kv keyed) get(key string) uint64 {
	v, _ := kv.lookup(key)
	return v
}

// readSmall reads a cgroup interface file of at most 4 KiB in three
// system calls (open, read, close). os.ReadFile adds an fstat and a
// second read for EOF; with four such reads at the end of every run the
// difference showed in the profiles. kernfs returns the whole file in one
// read.
func readSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		return buf[:n], nil
	}
}

// readUint reads a single-number file such as memory.current.
func readUint(path string) (uint64, error) {
	b, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// readWords reads a space-separated list file such as cgroup.controllers.
func readWords(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// waitEvent blocks until cgroup.events in dir has key == want, or ctx ends.
// It polls the file with a backoff from 50 µs to 5 ms. inotify was
// measured and rejected: the kernel rate-limits cgroup file notifications
// (cgroup_file_notify), so IN_MODIFY arrived 12-16 ms after "populated 0"
// here, while polling saw it within 0.3-1.3 ms of writing cgroup.kill.
func waitEvent(ctx context.Context, dir, key string, want uint64) error {
	path := filepath.Join(dir, "cgroup.events")
	return poll.Until(ctx, 50*time.Microsecond, 5*time.Millisecond, func() (bool, error) {
		kv, err := readKV(path)
		if err != nil {
			return false, err
		}
		v, ok := kv.lookup(key)
		return ok && v == want, nil
	})
}

// removeTree removes dir and any cgroups nested in it, deepest first.
// rmdir of a cgroup that has just become empty can fail with EBUSY for a
// moment, so each directory is retried briefly.
func removeTree(dir string) error {
	// The common case is a leaf with no nested cgroup: one rmdir, no walk.
	if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		var rerr error
		for wait := time.Millisecond; wait < 500*time.Millisecond; wait *= 2 {
			rerr = unix.Rmdir(dirs[i])
			if rerr == nil || errors.Is(rerr, unix.ENOENT) {
				rerr = nil
				break
			}
			if !errors.Is(rerr, unix.EBUSY) {
				break
			}
			time.Sleep(wait)
		}
		if rerr != nil {
			return &os.PathError{Op: "rmdir", Path: dirs[i], Err: rerr}
		}
	}
	return nil
}
