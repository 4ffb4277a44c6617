#!/usr/bin/env bash
# systemd-rootfs.sh: build, once, the root file system of the systemd VM
# tier (make test-systemd): Debian bookworm with systemd as PID 1, D-Bus,
# a user session (dbus-user-session, libpam-systemd) and an unprivileged
# user, packed as a gzip'd newc cpio that the kernel unpacks as its
# initramfs and boots with rdinit=/lib/systemd/systemd.
#
# Usage: scripts/vm/systemd-rootfs.sh   (after scripts/vm/setup.sh)
#
# The result is $TETHER_VM_CACHE/systemd-rootfs.cpio.gz (default cache
# /var/cache/tether-vm). It is rebuilt only when its recipe (the package
# list and the customisation below, hashed into systemd-rootfs.stamp)
# changes. Building needs root and mmdebstrap (installed from Debian if
# missing); measured on a 2-core machine of the project's kind: 4-5 min
# cold, under a minute once apt's cache holds the packages.
set -euo pipefail

CACHE=${TETHER_VM_CACHE:-/var/cache/tether-vm}
OUT=$CACHE/systemd-rootfs.cpio.gz
SUITE=bookworm
# What the tests need: systemd as PID 1 (systemd-sysv), the system bus
# (dbus), a user manager with its own bus reached through a real login
# (libpam-systemd, dbus-user-session; su comes with util-linux), useradd
# (passwd), ps and pkill for the guest script (procps).
PACKAGES=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,passwd,procps

log() { printf 'systemd-rootfs: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 2
}

# customize runs inside mmdebstrap's customize hook with the root as $1.
# Everything it does is part of the recipe: changing it rebuilds.
read -r -d '' customize <<'EOF' || true
set -e
r=$1
# Nothing to read in a VM that lives for one test run.
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/* "$r"/usr/share/info/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin
# The unprivileged user of the tests, uid 1000, with a home for su -l.
chroot "$r" useradd -m -u 1000 -s /bin/bash tu
# No getty on the serial console: the test unit owns it.
chroot "$r" systemctl mask serial-getty@ttyS0.service getty@tty1.service console-getty.service
# Units that only slow a throwaway boot down or fail without a disk.
chroot "$r" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer systemd-tmpfiles-clean.timer 2>/dev/null || true
echo tether-systemd-vm >"$r/etc/hostname"
printf '127.0.0.1\tlocalhost tether-systemd-vm\n' >"$r/etc/hosts"
: >"$r/etc/fstab"
# The initramfs root is a tmpfs or ramfs: there is no root device to fsck
# or remount.
ln -sf /dev/null "$r/etc/systemd/system/systemd-remount-fs.service"
EOF

stamp="suite=$SUITE packages=$PACKAGES customize=$(printf '%s' "$customize" | sha256sum | cut -c1-16)"
if [[ -s $OUT && $(cat "$CACHE/systemd-rootfs.stamp" 2>/dev/null) == "$stamp" ]]; then
	exit 0
fi
[[ $(id -u) -eq 0 ]] || die "building the systemd root file system needs root (CI runs as root)"
if ! command -v mmdebstrap >/dev/null; then
	log "installing mmdebstrap"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap </dev/null >/dev/null ||
		die "apt-get install mmdebstrap failed"
fi
command -v busybox >/dev/null || die "busybox is missing: run scripts/vm/setup.sh first"

t0=$SECONDS
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/systemd-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
hook=$work/customize.sh
printf '%s\n' "$customize" >"$hook"
# The host's apt cache is handed in and out, so a second build downloads
# nothing (mmdebstrap's own cache lives in its temporary directory).
mkdir -p "$work/root"
if ! mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
	--skip=cleanup/apt/cache \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives"; cp -a /var/cache/apt/archives/*.deb "$1/var/cache/apt/archives/" 2>/dev/null || true' \
	--customize-hook='cp -a "$1"/var/cache/apt/archives/*.deb /var/cache/apt/archives/ 2>/dev/null || true; rm -f "$1"/var/cache/apt/archives/*.deb' \
	--customize-hook="sh $hook \"\$1\"" \
	"$SUITE" "$work/root" >"$work/log" 2>&1; then
	cat "$work/log" >&2
	die "mmdebstrap failed"
fi
(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) | gzip -6 >"$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
printf '%s\n' "$stamp" >"$CACHE/systemd-rootfs.stamp"
log "built in $((SECONDS - t0))s: $(du -sm "$work/root" | cut -f1) MB unpacked, $(($(stat -c %s "$OUT") >> 20)) MB packed ($OUT)"
