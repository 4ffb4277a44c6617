//go:build linux

package cgroupv2

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/sysproc"
)

// fuzzMangle escapes s as the kernel writes a path or a source in
// /proc/self/mountinfo: space, tab, newline and backslash as \ooo.
func fuzzMangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(" \t\n\\", c) >= 0 {
			fmt.Fprintf(&b, `\%03o`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fuzzHostMountinfo is this project's hybrid host (cgroup v1 owns the
// controllers, cgroup2 is mounted at /sys/fs/cgroup/unified).
const fuzzHostMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334492k,nr_inodes=3083623,mode=755
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// fuzzLongLine is a mount line of more than bufio.Scanner's 64 KiB: an
// overlay mount with 900 layers, as a container engine makes them.
var fuzzLongLine = func() string {
	layers := make([]string, 900)
	for i := range layers {
		layers[i] = fmt.Sprintf("/var/lib/docker/overlay2/l/%064x", i)
	}
	return "589 512 0:48 / / rw,relatime - overlay overlay rw,lowerdir=" + strings.Join(layers, ":") +
		",upperdir=/var/lib/docker/overlay2/u/diff,workdir=/var/lib/docker/overlay2/u/work\n"
}()

// fuzzMountinfoSeeds are whole mountinfo files: this host, a pure v2
// systemd host, a container, escapes, optional fields.
func fuzzMountinfoSeeds() []string {
	return []string{
		fuzzHostMountinfo,
		"24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n" +
			"27 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
		"612 577 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n",
		"40 24 0:27 / /mnt/my\\040cg\\011tab\\012nl\\134bs ro,relatime shared:1 master:2 propagate_from:3 unbindable - cgroup2 my\\040src rw\n",
		"41 24 0:27 /../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"42 24 0:27 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"43 24 0:27 / /mnt/a\u00a0b\vc rw - cgroup2 cgroup2 rw\n",
		"44 24 0:27 / /mnt/x\\400\\0 rw - cgroup2 cgroup2 rw\n",
		"45 24 0:27 / /mnt/-\\040-\\040- rw - cgroup2 cgroup2 rw\r\n",
		"46 24 0:27 / / rw - cgroup2\n47 24 0:27 / rw - cgroup2 cgroup2 rw\n - cgroup2 \n",
		fuzzLongLine[:300] + ":/var/lib/docker/overlay2/l/top,upperdir=/u,workdir=/w\n" +
			"612 589 0:29 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n",
	}
}

// fuzzProcCgroupSeeds are /proc/self/cgroup files: this host (v1 and v2
// lines), pure v2, a removed cgroup, a cgroup namespace seen from outside,
// and damaged ones.
var fuzzProcCgroupSeeds = []string{
	"9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/docker/d43324a26f45290eefbf729d636d1e55\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n",
	"0::/user.slice/user-1000.slice/session-2.scope\n",
	"12:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/system.slice/docker-abc.scope (deleted)\n",
	"0::/../../system.slice/other.service\n",
	"0::/a b/c:d/0::/e\n",
	"0::/cr\r\n",
	"0::\n",
	"0:::/x\n",
	"12:memory:/x\n",
	"",
}

// fuzzMountsOf parses each line of mountinfo alone and joins the results:
// what the whole file must give.
func fuzzMountsOf(mountinfo string) []hierarchy {
	var out []hierarchy
	for _, line := range strings.Split(mountinfo, "\n") {
		out = append(out, cgroup2Mounts([]byte(line))...)
	}
	return out
}

// FuzzMountinfo parses any /proc/self/mountinfo: it never panics; the
// file gives the mounts of its lines, each parsed alone, in order (none
// hides another), also after a line of more than 64 KiB; every mount
// comes from a line whose filesystem type is cgroup2; and the octal
// unescaping undoes the kernel's escaping of any path.
func FuzzMountinfo(f *testing.F) {
	for _, s := range fuzzMountinfoSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mounts := cgroup2Mounts(data)
		if want := fuzzMountsOf(string(data)); !slices.Equal(mounts, want) {
			t.Fatalf("%q: the file gives %+v, its lines %+v", data, mounts, want)
		}
		if after := cgroup2Mounts([]byte(fuzzLongLine + string(data))); !slices.Equal(after, mounts) {
			t.Fatalf("%q: after a long line the file gives %+v, alone %+v", data, after, mounts)
		}
		if len(mounts) > 0 && !strings.Contains(string(data), " - cgroup2 ") {
			t.Fatalf("%q: mounts %+v without a cgroup2 line", data, mounts)
		}
		for _, p := range []string{string(data), strings.ReplaceAll(string(data), "\n", " ")} {
			if got := unescape(fuzzMangle(p)); got != p {
				t.Fatalf("unescape(mangle(%q)) = %q", p, got)
			}
		}
	})
}

// FuzzMountinfoLine writes a cgroup2 mount the way the kernel does (root,
// mount point and source escaped; options, optional fields and
// superblock options as given, without blanks) between other mounts, and
// checks that it, alone, is read back: its root, its mount point byte for
// byte (absolute paths of any bytes but NUL; a path may hold \v, \r or a
// no-break space, which the kernel does not escape) and whether it is
// read-only.
func FuzzMountinfoLine(f *testing.F) {
	f.Add("/", "/sys/fs/cgroup/unified", uint8(0), uint8(0), "cgroup2", "rw")
	f.Add("/", "/sys/fs/cgroup", uint8(0b11110), uint8(1), "cgroup2", "rw,nsdelegate,memory_recursiveprot")
	f.Add("/user.slice", "/mnt/my cg", uint8(1), uint8(7), "none", "rw")
	f.Add("/../..", "/mnt/tab\there\nnl\\bs", uint8(0b10101), uint8(3), "my src", "rw")
	f.Add("/", "/mnt/a\u00a0b\vc\rd\fe", uint8(1), uint8(0), "cgroup", "ro")
	f.Add("/ - /", "/mnt/ - cgroup2 x", uint8(0), uint8(2), " - ", "rw")
	f.Add("/-", "/-", uint8(0), uint8(0), "-", "-")
	f.Fuzz(func(t *testing.T, root, mountpoint string, flags, optional uint8, source, superOpts string) {
		if !strings.HasPrefix(root, "/") || !strings.HasPrefix(mountpoint, "/") || strings.ContainsRune(root+mountpoint+source, 0) {
			return // not a path the kernel could show
		}
		opts := "rw"
		if flags&1 != 0 {
			opts = "ro"
		}
		for i, o := range []string{"nosuid", "nodev", "noexec", "relatime"} {
			if flags&(2<<i) != 0 {
				opts += "," + o
			}
		}
		var tags string
		for i, o := range []string{"shared:9", "master:1", "propagate_from:2", "unbindable"} {
			if optional&(1<<i) != 0 {
				tags += " " + o
			}
		}
		superOpts = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == 0 {
				return '_'
			}
			return r
		}, superOpts)
		line := fmt.Sprintf("41 31 0:38 %s %s %s%s - cgroup2 %s %s\n",
			fuzzMangle(root), fuzzMangle(mountpoint), opts, tags, fuzzMangle(source), superOpts)
		// The same mount as cgroup v1 is not cgroup2.
		v1 := strings.Replace(line, " - cgroup2 ", " - cgroup ", 1)
		mounts := cgroup2Mounts([]byte(fuzzHostMountinfo + v1 + line + v1))
		want := []hierarchy{
			{mountpoint: "/sys/fs/cgroup/unified", mountRoot: "/"},
			{mountpoint: mountpoint, mountRoot: root, readOnly: flags&1 != 0},
		}
		if !slices.Equal(mounts, want) {
			t.Fatalf("%q: read %+v, want %+v", line, mounts, want)
		}
	})
}

// FuzzProcCgroup parses any /proc/self/cgroup: it never panics and finds
// the path of the first cgroup v2 line ("0::"), without a " (deleted)"
// mark, exactly as written; and a v2 line with any path (the kernel
// escapes nothing there) after this host's v1 lines reads back as it.
func FuzzProcCgroup(f *testing.F) {
	for _, s := range fuzzProcCgroupSeeds {
		f.Add([]byte(s), "/user.slice/app")
	}
	f.Add([]byte(""), "/a\rb\r")
	f.Add([]byte(""), "/../x")
	f.Add([]byte(""), "/ (deleted) x")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		own, ok := sysproc.CgroupV2Path(data)
		var want string
		found := false
		for _, line := range strings.Split(string(data), "\n") {
			if p, isV2 := strings.CutPrefix(line, "0::"); isV2 {
				want, found = strings.TrimSuffix(p, " (deleted)"), true
				break
			}
		}
		if ok != found || own != want {
			t.Fatalf("%q: got %q, %v; want %q, %v", data, own, ok, want, found)
		}
		if strings.Contains(path, "\n") || strings.HasSuffix(path, " (deleted)") {
			return
		}
		file := fuzzProcCgroupSeeds[0][:strings.Index(fuzzProcCgroupSeeds[0], "0::")] + "0::" + path + "\n"
		if own, ok := sysproc.CgroupV2Path([]byte(file)); !ok || own != path {
			t.Fatalf("%q: got %q, %v; want %q", file, own, ok, path)
		}
	})
}

// FuzzDiscover runs the discovery on any pair of files: it never panics;
// the hierarchy it picks is one of the cgroup2 mounts, with this
// process's cgroup from the cgroup file, and one that shows that cgroup
// if any does; and no cgroup path, the own one or another, maps to a
// directory outside the mount point.
func FuzzDiscover(f *testing.F) {
	for _, mi := range fuzzMountinfoSeeds() {
		for _, cg := range fuzzProcCgroupSeeds[:4] {
			f.Add([]byte(mi), []byte(cg), "/tether-1-2")
		}
	}
	f.Add([]byte(fuzzHostMountinfo), []byte("0::/\n"), "/..")
	f.Add([]byte(fuzzHostMountinfo), []byte("0::/../../etc\n"), "/a/../../b")
	f.Add([]byte("41 24 0:27 /a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), []byte("0::/a/..\n"), "/ab")
	f.Fuzz(func(t *testing.T, mountinfo, procCgroup []byte, other string) {
		h, err := discoverFrom(mountinfo, procCgroup)
		if err != nil {
			return
		}
		mounts := cgroup2Mounts(mountinfo)
		own, _ := sysproc.CgroupV2Path(procCgroup)
		if h.own != own {
			t.Fatalf("own cgroup %q, want %q", h.own, own)
		}
		picked := h
		picked.own = ""
		if !slices.Contains(mounts, picked) {
			t.Fatalf("picked %+v, not one of %+v", picked, mounts)
		}
		if _, err := h.dirOf(own); err != nil && slices.ContainsFunc(mounts, func(m hierarchy) bool {
			_, err := m.dirOf(own)
			return err == nil
		}) {
			t.Fatalf("picked %+v, which does not show %q, over one that does in %+v", h, own, mounts)
		}
		top := filepath.Clean(h.mountpoint)
		for _, cg := range []string{own, other} {
			dir, err := h.dirOf(cg)
			if err != nil {
				continue
			}
			if rel, rerr := filepath.Rel(top, dir); rerr != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("cgroup %q maps to %q, outside the mount at %q (root %q)", cg, dir, h.mountpoint, h.mountRoot)
			}
		}
	})
}
