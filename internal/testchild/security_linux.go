//go:build linux

package testchild

import (
	"os"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// openFds lists /proc/self/fd with raw system calls: os.Open would add the
// directory to the runtime's poller, which can open descriptors of its
// own. It returns every descriptor with its target, and those without
// close-on-exec; the descriptor used for the listing is left out.
func openFds() (fds map[string]string, inherited []int, err error) {
	dfd, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	defer syscall.Close(dfd)
	var names []string
	buf := make([]byte, 16<<10)
	for {
		n, err := syscall.ReadDirent(dfd, buf)
		if err != nil {
			return nil, nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
	fds = map[string]string{}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == dfd {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			target = "?" + err.Error()
		}
		fds[name] = target
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			inherited = append(inherited, fd)
		}
	}
	slices.Sort(inherited)
	return fds, inherited, nil
}
