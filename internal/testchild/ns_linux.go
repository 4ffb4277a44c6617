//go:build linux

package testchild

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ModeNS prepares the namespaces it was started in, then becomes another
// helper mode. Its arguments are setup operations, "--", the mode and the
// mode's arguments. The operations, in the order given:
//
//	private         make every mount private, so nothing below leaks out
//	proc            mount a fresh /proc (the one of a new pid namespace)
//	cgroup2=ro|rw   mount a fresh cgroup2 file system, read-only or
//	                writable, over the cgroup2 mount (in a new cgroup
//	                namespace: the view a container gets)
//	root=DIR        mount a tmpfs at DIR holding only a copy of the test
//	                binary (/t) with the shared libraries it links (if any:
//	                what a distroless image holds), a fresh /proc,
//	                /dev/null and the cgroup2 mounts at their paths, and
//	                make it the root (pivot_root): no /bin/sh, no other
//	                program
//	rootnoproc=DIR  the same without /proc
//	lastpid=N       make the next pid of this (new) pid namespace N
//	init            stay as the namespace's init: start the mode as a child
//	                and reap every orphan until killed (if PID 1 of a pid
//	                namespace exits, the kernel kills all of it)
//
// Without init the mode replaces this process (exec).
const ModeNS = "ns"

// NSCommand returns a command that runs the test binary in mode inside
// new namespaces (flags: syscall.CLONE_NEW*), after the setup operations
// of ModeNS. It skips the test when not root.
func NSCommand(t testing.TB, flags uintptr, setup []string, mode string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("new namespaces and mounts need root")
	}
	cmd := Command(ModeNS, append(append(append([]string{}, setup...), "--", mode), args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	return cmd
}

// StartNSHelper starts cmd (from NSCommand) like StartHelper, skipping
// the test when the kernel refuses the namespaces.
func StartNSHelper(t testing.TB, cmd *exec.Cmd) *HelperRun {
	t.Helper()
	h, err := startHelper(t, cmd)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSPC) {
		t.Skipf("the kernel refuses the namespaces (%#x): %v", cmd.SysProcAttr.Cloneflags, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// MarkedAlive returns the live processes (zombies excluded) whose
// environment holds the variable kv ("NAME=value"), except skip.
func MarkedAlive(kv string, skip ...int) []int {
	want := []byte(kv + "\x00")
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || containsInt(skip, p) {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && strings.Contains(string(append(env, 0)), string(want)) && Alive(p) {
			out = append(out, p)
		}
	}
	return out
}

func containsInt(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// ChildPids returns the children of pid, from /proc. A child belongs to
// the thread that forked it, so every thread's list is read: a Go
// process forks from whichever thread runs the goroutine (or from the
// forker's pool, for a parent-death signal).
func ChildPids(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func runNS(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "testchild: ns: "+format+"\n", a...)
		return 5
	}
	exe := Exe()
	asInit := false
	i := 0
	for ; i < len(args) && args[i] != "--"; i++ {
		op, val, _ := strings.Cut(args[i], "=")
		var err error
		switch op {
		case "private":
			err = unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
		case "proc":
			err = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		case "cgroup2":
			mnts := cgroup2Mounts()
			if len(mnts) == 0 {
				return fail("no cgroup2 mount")
			}
			var flags uintptr = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
			if val == "ro" {
				flags |= unix.MS_RDONLY
			}
			// The same file system cannot be mounted twice on one mount
			// point: take the host's away first (in this namespace only).
			if err = unix.Unmount(mnts[0], unix.MNT_DETACH); err == nil {
				err = unix.Mount("cgroup2", mnts[0], "cgroup2", flags, "")
			}
		case "root", "rootnoproc":
			exe, err = newRoot(val, op == "root")
		case "lastpid":
			n, _ := strconv.Atoi(val)
			err = os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(n-1)), 0)
		case "init":
			asInit = true
		default:
			return fail("unknown operation %q", args[i])
		}
		if err != nil {
			return fail("%s: %v", args[i], err)
		}
	}
	if i+1 >= len(args) {
		return fail("no mode after --")
	}
	mode, rest := args[i+1], args[i+2:]
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, modeEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, modeEnv+"="+mode)
	argv := append([]string{exe}, rest...)
	if !asInit {
		return fail("exec %s: %v", exe, syscall.Exec(exe, argv, env))
	}
	cmd := exec.Command(exe, rest...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fail("start %s: %v", mode, err)
	}
	// Reap everything, the mode included, until killed.
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); errors.Is(err, unix.ECHILD) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// newRoot builds the minimal root at dir and pivots into it; it returns
// the test binary's path there.
func newRoot(dir string, withProc bool) (string, error) {
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return "", err
	}
	src, err := os.Open(Exe())
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := copyFile(filepath.Join(dir, "t"), src); err != nil {
		return "", err
	}
	if err := copyLibs(dir, Exe()); err != nil {
		return "", err
	}
	for _, d := range []string{"proc", "dev", "tmp", ".old"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	if withProc {
		if err := unix.Mount("proc", filepath.Join(dir, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return "", err
		}
	}
	null := filepath.Join(dir, "dev", "null")
	if err := os.WriteFile(null, nil, 0o666); err != nil {
		return "", err
	}
	if err := unix.Mount("/dev/null", null, "", unix.MS_BIND, ""); err != nil {
		return "", err
	}
	for _, m := range cgroup2Mounts() {
		at := filepath.Join(dir, m)
		if err := os.MkdirAll(at, 0o755); err != nil {
			return "", err
		}
		if err := unix.Mount(m, at, "", unix.MS_BIND, ""); err != nil {
			return "", err
		}
	}
	err = unix.PivotRoot(dir, filepath.Join(dir, ".old"))
	if errors.Is(err, unix.EINVAL) {
		// The root is an initramfs (rootfs, as in the test VMs), which
		// pivot_root refuses: move the new root over it and chroot, as
		// switch_root does. The old root stays hidden under it.
		return "/t", moveRoot(dir)
	}
	if err != nil {
		return "", err
	}
	if err := unix.Chdir("/"); err != nil {
		return "", err
	}
	if err := unix.Unmount("/.old", unix.MNT_DETACH); err != nil {
		return "", err
	}
	return "/t", os.Remove("/.old")
}

// moveRoot makes dir, a mount point, the root of this mount namespace
// where pivot_root cannot.
func moveRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	if err := unix.Mount(dir, "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return err
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	return os.Remove("/.old")
}

func copyFile(to string, src io.Reader) error {
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// libDirs is where the dynamic loader of this machine looks.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// copyLibs copies into root, at their paths, the ELF interpreter and the
// shared libraries bin needs, transitively: what a distroless image holds
// for a binary linked against libc (a test binary built with -race is).
// A static binary needs none.
func copyLibs(root, bin string) error {
	seen := map[string]bool{}
	var visit func(path string) error
	visit = func(path string) error {
		f, err := elf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var need []string
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				b, err := io.ReadAll(p.Open())
				if err != nil {
					return err
				}
				need = append(need, strings.TrimRight(string(b), "\x00"))
			}
		}
		libs, _ := f.ImportedLibraries()
		for _, l := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(d, l)); err == nil {
					found = filepath.Join(d, l)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("shared library %s of %s not found", l, path)
			}
			need = append(need, found)
		}
		for _, n := range need {
			if seen[n] {
				continue
			}
			seen[n] = true
			src, err := os.Open(n) // follows symlinks: a copy of the real file
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(root, filepath.Dir(n)), 0o755); err != nil {
				_ = src.Close()
				return err
			}
			err = copyFile(filepath.Join(root, n), src)
			_ = src.Close()
			if err != nil {
				return err
			}
			if err := visit(n); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(bin)
}

// OwnCgroupDir returns the directory of this process's cgroup on the
// cgroup2 mount that shows the whole hierarchy, or skips the test when
// there is none or when not root (creating cgroups needs it here).
func OwnCgroupDir(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root here")
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip("no /proc/self/mountinfo:", err)
	}
	mnt := ""
	for _, ln := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(ln, " - ")
		if f := strings.Fields(pre); ok && strings.HasPrefix(post, "cgroup2 ") && len(f) >= 5 && f[3] == "/" {
			mnt = f[4]
		}
	}
	own, _ := os.ReadFile("/proc/self/cgroup")
	for _, ln := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(ln, "0::"); ok && mnt != "" {
			return filepath.Join(mnt, p)
		}
	}
	t.Skip("no cgroup2 mount with this process's cgroup in it")
	return ""
}
