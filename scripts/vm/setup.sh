#!/usr/bin/env bash
# setup.sh: prepare what scripts/vm/vmexec needs to run Go test binaries
# in a throwaway qemu VM with a pure cgroup v2 kernel.
#
# Usage: scripts/vm/setup.sh
#
# Idempotent; every step is skipped when its result is already there:
#   1. qemu-system-x86 and busybox-static from Debian (apt, no recommends;
#      needs root, as in CI);
#   2. a kernel: the bzImage of Debian's linux-image-cloud-amd64, resolved
#      to its versioned package after `apt-get update`, downloaded with
#      `apt-get download` and unpacked with dpkg-deb. Nothing of it is
#      installed on this host;
#   3. the base initramfs: busybox with one link per applet, /etc/passwd
#      and /etc/group, as a gzip'd newc cpio.
# Results live in $TETHER_VM_CACHE (default /var/cache/tether-vm). Deleting
# that directory and running this again redoes steps 2 and 3.
set -euo pipefail

CACHE=${TETHER_VM_CACHE:-/var/cache/tether-vm}
BUSYBOX=/bin/busybox
# Bump when the base initramfs layout below changes, so caches rebuild.
BASE_LAYOUT=1

log() { printf 'vm-setup: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 2
}
need_root() {
	[[ $(id -u) -eq 0 ]] || die "$1 needs root (CI runs as root)"
}

updated=""
apt_update() {
	if [[ -z $updated ]]; then
		need_root "apt-get update"
		apt-get update -qq
		updated=1
	fi
}

mkdir -p "$CACHE"
t_all=$SECONDS

# static_busybox: busybox-static puts a static busybox at /bin/busybox; a
# dynamic one (package busybox) would not run in the initramfs.
static_busybox() { [[ -x $BUSYBOX && $(ldd "$BUSYBOX" 2>&1) != *'=>'* ]]; }

# 1. Host packages.
if ! command -v qemu-system-x86_64 >/dev/null || ! static_busybox; then
	need_root "installing qemu-system-x86 and busybox-static"
	t0=$SECONDS
	apt_update
	# dpkg's progress lines are kept out of the log unless the install fails.
	out=$(mktemp)
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 busybox-static </dev/null >"$out" 2>&1; then
		cat "$out" >&2
		rm -f "$out"
		die "apt-get install qemu-system-x86 busybox-static failed"
	fi
	rm -f "$out"
	log "installed qemu-system-x86 and busybox-static in $((SECONDS - t0))s"
fi
static_busybox || die "$BUSYBOX is missing or dynamically linked after installing busybox-static"

# 2. The kernel. The versioned package name (linux-image-6.1.0-NN-cloud-amd64)
# changes with every security update and the archive drops old ones, so it
# is resolved afresh rather than pinned.
if [[ ! -s $CACHE/vmlinuz ]]; then
	t0=$SECONDS
	apt_update
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends:/ { print $2; exit }')
	[[ $pkg == linux-image-* ]] || die "could not resolve linux-image-cloud-amd64 (got '$pkg')"
	dl=$(mktemp -d "$CACHE/download.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	# (Its stderr is shown only on failure: as root it always warns that
	# the download runs unsandboxed, which is harmless.)
	if ! (cd "$dl" && apt-get download -qq "$pkg" 2>"$dl/apt.err"); then
		cat "$dl/apt.err" >&2
		die "apt-get download $pkg failed"
	fi
	debs=("$dl"/"$pkg"_*.deb)
	[[ -f ${debs[0]} ]] || die "apt-get download $pkg produced no .deb"
	dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
	images=("$dl"/boot/vmlinuz-*)
	[[ -s ${images[0]} ]] || die "no ./boot/vmlinuz-* in $pkg"
	mv "${images[0]}" "$CACHE/vmlinuz.tmp"
	printf '%s %s\n' "$pkg" "$(basename "${images[0]}")" >"$CACHE/kernel.txt"
	mv -f "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
	rm -rf "$dl"
	trap - EXIT
	log "kernel $pkg fetched in $((SECONDS - t0))s"
fi

# 3. The base initramfs. The per-run part (the test binary, /init) is a
# second cpio that vmexec appends: the kernel unpacks concatenated
# archives in order.
stamp="layout=$BASE_LAYOUT busybox=$(sha256sum "$BUSYBOX" | cut -c1-16)"
if [[ ! -s $CACHE/base.cpio.gz || $(cat "$CACHE/base.stamp" 2>/dev/null) != "$stamp" ]]; then
	t0=$SECONDS
	root=$(mktemp -d "$CACHE/base.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/tmp}
	chmod 1777 "$root/tmp" "$root/var/tmp"
	cp "$BUSYBOX" "$root/bin/busybox"
	# One symbolic link per applet, where Debian's busybox would put it
	# (bin/sh, usr/bin/awk, sbin/poweroff ...).
	while read -r applet; do
		[[ -n $applet && $applet != bin/busybox ]] || continue
		mkdir -p "$root/$(dirname "$applet")"
		ln -sf /bin/busybox "$root/$applet"
	done < <("$BUSYBOX" --list-full)
	# Pure-Go os/user reads these; uid/gid 65534 is what tests that switch
	# credentials use.
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		nogroup:x:65534:
	EOF
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
		gzip -6 >"$CACHE/base.cpio.gz.tmp"
	mv -f "$CACHE/base.cpio.gz.tmp" "$CACHE/base.cpio.gz"
	printf '%s\n' "$stamp" >"$CACHE/base.stamp"
	rm -rf "$root"
	trap - EXIT
	log "base initramfs built in $((SECONDS - t0))s ($(du -k "$CACHE/base.cpio.gz" | cut -f1) KiB)"
fi

log "ready in $((SECONDS - t_all))s: $(cut -d' ' -f1 "$CACHE/kernel.txt" 2>/dev/null || echo 'kernel'), cache $CACHE"
