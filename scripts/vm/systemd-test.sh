#!/usr/bin/env bash
# systemd-test.sh: the systemd VM tier (make test-systemd). Boots, once,
# a Debian VM whose PID 1 is systemd, and runs in it the tests that need
# systemd: contain/systemd's, proc's and cmd/tether's test binaries as
# root and as an unprivileged user, and the `tether` CLI in four contexts
# (scripts/vm/systemd-guest.sh says which).
#
# Usage: scripts/vm/systemd-test.sh   (after scripts/vm/setup.sh and
#        scripts/vm/systemd-rootfs.sh; `make test-systemd` runs all three)
#
# The root file system (systemd-rootfs.sh, cached) is the kernel's
# initramfs; this script appends a second cpio holding the static test
# binaries, the package directories they run in, the guest script and
# the oneshot unit guest-tests.service that runs it after
# multi-user.target. The guest prints a marker line with its status and
# powers off; qemu (TCG: KVM does not work on this project's machines)
# runs under timeout(1).
#
# Exit status: the guest's (0 all passed, 1 a test failed); 124 if the VM
# timed out; 125 if it ended without reporting; 126 for a problem before
# booting.
#
# Environment:
#   TETHER_VM_CACHE       the cache directory (default /var/cache/tether-vm)
#   TETHER_VM_TIMEOUT     seconds for the whole boot (default 1500)
#   TETHER_VM_MEM, TETHER_VM_CPUS   guest memory in MiB (2048) and vCPUs (2)
#   TETHER_VM_KEEP=1      keep the staging directory and print its path
#   TETHER_VM_GUEST       another guest script to run instead (to debug)
set -uo pipefail

CACHE=${TETHER_VM_CACHE:-/var/cache/tether-vm}
GO=${GO:-go}

log() { printf 'systemd-test: %s\n' "$*" >&2; }
fail() {
	log "$*"
	exit 126
}

for f in vmlinuz systemd-rootfs.cpio.gz; do
	[[ -s $CACHE/$f ]] || fail "$CACHE/$f is missing: run scripts/vm/setup.sh and scripts/vm/systemd-rootfs.sh first"
done
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed: run scripts/vm/setup.sh first"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || fail "cannot find the repository"
repo=$PWD

work=$(mktemp -d "${TMPDIR:-/tmp}/tether-systemd-vm.XXXXXX") || fail "mktemp failed"
tpid=""
cleanup() {
	[[ -n $tpid ]] && kill -TERM "$tpid" 2>/dev/null
	if [[ -n ${TETHER_VM_KEEP:-} ]]; then
		log "staging kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

root=$work/root
mkdir -p "$root/tether/bin" "$root/etc/systemd/system/multi-user.target.wants" || fail "staging failed"

# Static test binaries (the image has no Go), and each package's
# directory (its files and testdata) under /tether/src, where the binary
# runs. Not at the host's own path: a clone under /tmp would be hidden in
# the guest by the tmpfs systemd mounts there.
t0=$SECONDS
declare -A pkgs=([SYSTEMD]=contain/systemd [PROC]=proc [TETHER]=cmd/tether)
: >"$root/tether/packages.sh"
for k in "${!pkgs[@]}"; do
	p=${pkgs[$k]}
	bin=$(basename "$p").test
	[[ $p == cmd/tether ]] && bin=tether.test
	CGO_ENABLED=0 $GO test -c -o "$root/tether/bin/$bin" "./$p" || fail "building the $p test binary failed"
	mkdir -p "$root/tether/src/$p"
	find "$repo/$p" -maxdepth 1 -type f ! -name '.*' -exec cp -p {} "$root/tether/src/$p/" \;
	[[ -d $repo/$p/testdata ]] && cp -a "$repo/$p/testdata" "$root/tether/src/$p/"
	printf 'PKG_%s=%q\n' "$k" "/tether/src/$p" >>"$root/tether/packages.sh"
done
CGO_ENABLED=0 $GO build -o "$root/tether/bin/tether" ./cmd/tether || fail "building tether failed"
log "test binaries built in $((SECONDS - t0)) s"
# The unprivileged user reads and runs everything from there.
chmod -R a+rX "$root"

cp "${TETHER_VM_GUEST:-scripts/vm/systemd-guest.sh}" "$root/tether/guest.sh" && chmod 755 "$root/tether/guest.sh" || fail "copying the guest script failed"
marker="tether-systemd-exit-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$marker" >"$root/tether/marker"
cat >"$root/etc/systemd/system/guest-tests.service" <<'EOF'
[Unit]
Description=tether's systemd VM tests
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/tether/guest.sh
# Should the script fail before it powers off.
ExecStopPost=-/bin/systemctl poweroff --force
StandardOutput=journal+console
StandardError=journal+console
Environment=HOME=/root GOTRACEBACK=all
TimeoutStartSec=infinity
EOF
ln -s ../guest-tests.service "$root/etc/systemd/system/multi-user.target.wants/guest-tests.service"

initrd=$work/initrd
cp "$CACHE/systemd-rootfs.cpio.gz" "$initrd" || fail "copying the root file system failed"
# An uncompressed cpio after a compressed one must start 4-byte aligned.
head -c $(((4 - $(stat -c %s "$initrd") % 4) % 4)) /dev/zero >>"$initrd"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) >>"$initrd" ||
	fail "packing the initramfs failed"

vmt=${TETHER_VM_TIMEOUT:-1500}
began=$(date +%s%N)
(
	timeout -k 10 "$vmt" qemu-system-x86_64 -nodefaults -display none -serial stdio -no-reboot \
		-m "${TETHER_VM_MEM:-2048}" -smp "${TETHER_VM_CPUS:-2}" \
		-kernel "$CACHE/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 rdinit=/lib/systemd/systemd panic=-1 quiet loglevel=3 systemd.show_status=0" </dev/null &
	echo $! >"$work/tpid"
	wait $!
	echo $? >"$work/qemu.rc"
) | while IFS= read -r line || [[ -n $line ]]; do
	# A shell loop, not awk: Debian's mawk reads its input in blocks, so
	# the console would come out minutes late.
	line=${line%$'\r'}
	if [[ $line == *"$marker "* ]]; then
		printf '%s\n' "${line##*"$marker "}" >"$work/status"
		continue
	fi
	printf '%s\n' "$line"
done &
job=$!
until [[ -s $work/tpid ]] || ! kill -0 "$job" 2>/dev/null; do sleep 0.05; done
tpid=$(cat "$work/tpid" 2>/dev/null)
wait "$job"
tpid=""
secs=$((($(date +%s%N) - began) / 1000000000))
status=$(cat "$work/status" 2>/dev/null)
qrc=$(cat "$work/qemu.rc" 2>/dev/null || echo '?')
if [[ $status =~ ^[0-9]+$ ]]; then
	log "the VM ran for ${secs} s; the tests' status is $status"
	exit "$status"
fi
if [[ $qrc == 124 || $qrc == 137 ]]; then
	log "the VM timed out after ${vmt} s"
	exit 124
fi
log "the VM ended after ${secs} s without reporting a status (qemu status $qrc)"
exit 125
