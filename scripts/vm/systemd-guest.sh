#!/bin/bash
# systemd-guest.sh: the tests of the systemd VM tier, run inside the VM
# (scripts/vm/systemd-test.sh packs it as /tether/guest.sh) by the
# oneshot unit guest-tests.service, as root, after multi-user.target.
#
#   guest.sh                run everything, print the marker line with the
#                           status, and power off
#   guest.sh cli CTX WANT   the `tether` CLI checks in one context (see cli
#                           below), expecting the default backend WANT
#
# What runs, in order:
#   1. lingering for the user tu (uid 1000), so its user manager runs;
#   2. the Go test binaries (static, in /tether/bin) as root, from this
#      service (its cgroup is a plain system service's, not delegated),
#      then as tu through a real login (su -l: pam_systemd opens a
#      session and sets XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS);
#   3. the CLI checks in four contexts: this root service, a root service
#      with Delegate=yes, tu's login session, and tu with no bus;
#   4. no tether-* unit or cgroup is left.
set -u
B=/tether/bin
T=$B/tether

# cli CTX WANT: doctor's choice, then what a run contains, which limits
# hold and what an owner SIGKILL leaves, each printed as
# "cli[CTX]: ..."; exits 1 if one of them is not what the backend WANT
# promises.
cli() {
	local ctx=$1 want=$2 rc=0 d doc got p f out st j cpu dur tp i
	say() { echo "cli[$ctx]: $*"; }
	bad() {
		say "FAIL: $*"
		rc=1
	}
	d=$(mktemp -d)
	doc=$($T doctor 2>&1)
	got=$(sed -n 's/^default backend: *//p' <<<"$doc")
	say "default backend $got: $(sed -n 's/^  why: *//p' <<<"$doc")"
	[[ $got == "$want" ]] || bad "the default should be $want"$'\n'"$doc"

	# A setsid escapee and a double-forking daemon, then the direct child
	# exits: both must be dead when tether returns (pgid: both escape).
	$T run --quiet -- sh -c 'setsid sleep 300 & echo $! >"$0/escapee"
(setsid sh -c "sleep 300 & echo \$! >\"\$0/daemon\"" "$0" &)
while [ ! -s "$0/daemon" ]; do sleep 0.05; done' "$d"
	for f in escapee daemon; do
		p=$(cat "$d/$f")
		if kill -0 "$p" 2>/dev/null; then
			say "the $f (pid $p) survived the run"
			kill -9 "$p"
			[[ $want == pgid ]] || bad "a $f escaped $want"
		else
			say "the $f (pid $p) is dead after the run"
		fi
	done

	# Limits. 137 is 128+SIGKILL; 125 is tether refusing the limit.
	local mem pids cpuSt pct=""
	out=$($T run --memory-max 32M -- tail /dev/zero 2>&1)
	mem=$?
	say "--memory-max 32M, tail /dev/zero: exit $mem $(tail -n1 <<<"$out")"
	out=$($T run --pids-max 8 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait' 2>&1)
	pids=$?
	say "--pids-max 8, 12 background sleeps: exit $pids $(tail -n1 <<<"$out")"
	j=$d/cpu.json
	$T run --quiet --cpu-max 0.5 --json "$j" -- timeout 3 sh -c 'while :; do :; done'
	cpuSt=$?
	cpu=$(sed -n 's/.*"cpu_ms": *\([0-9]*\).*/\1/p' "$j" 2>/dev/null)
	dur=$(sed -n 's/.*"duration_ms": *\([0-9]*\).*/\1/p' "$j" 2>/dev/null)
	if [[ -n $cpu && -n $dur && $dur -gt 0 ]]; then
		pct=$((cpu * 100 / dur))
		say "--cpu-max 0.5, a 3 s spinner: exit $cpuSt, $cpu ms of CPU in $dur ms = $pct % of a CPU"
	else
		say "--cpu-max 0.5, a 3 s spinner: exit $cpuSt, no CPU figure"
	fi
	if [[ $want == systemd ]]; then
		[[ $mem == 137 ]] || bad "the memory hog was not killed by memory.max"
		[[ $pids != 125 && $out == *"fork"* ]] || bad "pids.max did not refuse a fork"
		[[ -n $pct ]] && ((pct >= 30 && pct <= 70)) || bad "cpu.max 0.5 not measured within 30-70 % of a CPU"
	else
		[[ $mem == 125 && $pids == 125 && $cpuSt == 125 ]] || bad "$want should refuse every limit (exit 125)"
	fi

	# The owner's SIGKILL: its tree, a setsid grandchild included, must
	# die (pgid: the grandchild escapes), and its scope must go.
	$T run --quiet -- sh -c 'setsid sleep 300 & echo $! >"$0/grandchild"; echo $$ >"$0/child"; exec sleep 300' "$d" &
	tp=$!
	for i in $(seq 200); do [[ -s $d/child ]] && break; sleep 0.05; done
	p=$(cat "$d/grandchild")
	local child
	child=$(cat "$d/child")
	local scope="" scg=""
	if [[ $want == systemd ]]; then
		scope=$(systemctl $(((EUID)) && echo --user) list-units --plain --no-legend "tether-tether-$tp-*" | awk '{print $1}')
		[[ -n $scope ]] && scg=$(systemctl $(((EUID)) && echo --user) show -P ControlGroup "$scope")
		say "tether (pid $tp) runs in scope ${scope:-(none found)} (cgroup ${scg:-?})"
		[[ -n $scope && -n $scg ]] || bad "no scope named tether-tether-$tp-*"
	fi
	kill -9 "$tp"
	wait "$tp" 2>/dev/null
	local t0 alive=1
	t0=$(date +%s%N)
	for i in $(seq 100); do
		kill -0 "$p" 2>/dev/null || {
			alive=0
			break
		}
		sleep 0.05
	done
	for i in $(seq 40); do
		kill -0 "$child" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$child" 2>/dev/null; then
		bad "owner SIGKILL: the direct child (pid $child) survived"
		kill -9 "$child"
	else
		say "owner SIGKILL: the direct child (pid $child) is dead"
	fi
	if ((alive)); then
		say "owner SIGKILL: the setsid grandchild (pid $p) survived"
		kill -9 "$p"
		[[ $want == pgid ]] || bad "the tree outlived its owner under $want"
	else
		say "owner SIGKILL: the setsid grandchild (pid $p) was dead $((($(date +%s%N) - t0) / 1000000)) ms after it"
	fi
	if [[ -n $scg ]]; then
		for i in $(seq 100); do
			[[ ! -e /sys/fs/cgroup$scg ]] && break
			sleep 0.1
		done
		if [[ -e /sys/fs/cgroup$scg || -n $(systemctl $(((EUID)) && echo --user) list-units --all --plain --no-legend "$scope") ]]; then
			bad "the scope $scope is still there after its owner's death"
		else
			say "owner SIGKILL: the scope $scope was collected and its cgroup removed $((($(date +%s%N) - t0) / 1000000)) ms after it"
		fi
	fi
	rm -rf "$d"
	return $rc
}

if [[ ${1:-} == cli ]]; then
	cli "$2" "$3"
	exit
fi

# guarded SECS CMD...: runs CMD, killing it after SECS; when it had to be
# killed, shows what the VM was doing, so that a hang is reported rather
# than waited out until the host's timeout.
guarded() {
	local secs=$1 rc
	shift
	timeout -k 5 "$secs" "$@"
	rc=$?
	if ((rc == 124 || rc == 137)); then
		echo "systemd-vm: FAIL: $* did not end within $secs s; the VM now:"
		systemctl list-jobs --no-pager
		su -s /bin/sh tu -c 'XDG_RUNTIME_DIR=/run/user/1000 systemctl --user list-jobs --no-pager' 2>&1
		ps -eo pid,ppid,user,stat,cgroup:70,args --sort=pid | grep -v ' \[' | cut -c1-220
	fi
	return $rc
}

status=0
echo "systemd-vm: the tests start at guest uptime $(cut -d' ' -f1 /proc/uptime) s; $(systemctl --version | head -n1)"

loginctl enable-linger tu
for i in $(seq 300); do
	systemctl is-active --quiet user@1000.service && break
	sleep 0.1
done
systemctl is-active --quiet user@1000.service || {
	echo "systemd-vm: FAIL: user@1000.service did not start after loginctl enable-linger"
	status=1
}

# gotest WHO PKGDIR BINARY ARGS...: runs a test binary from its package
# directory as root or as tu (through a login), and records its status.
gotest() {
	local who=$1 dir=$2 bin=$3 t0=$SECONDS rc
	shift 3
	if [[ $who == root ]]; then
		(cd "$dir" && guarded 600 "$B/$bin" "$@")
	else
		guarded 600 su -l tu -c "cd $(printf %q "$dir") && exec $(printf %q "$B/$bin")$(printf ' %q' "$@")"
	fi
	rc=$?
	echo "systemd-vm: $bin as $who: exit $rc after $((SECONDS - t0)) s"
	((rc == 0)) || status=1
}

. /tether/packages.sh # PKG_SYSTEMD PKG_PROC PKG_TETHER: the package directories
# Tests whose budgets of 100-300 ms race their child's start-up when qemu
# emulates the guest on a loaded host (docs/testing.md, "Limits in a
# VM"): they test timing, not containment, and run on the host and in
# make test-vm.
TIMING='^(TestTimeoutKillsTreeWhoseGrandchildHoldsStdout|TestGraceLetsTheChildStopCleanly|TestGraceEscalatesToKill|TestPipeStageTimeoutAttributed|TestGroupRunTimeoutEndsOnlyThatRun)$'

# As root: contain/systemd, and the limits and the CLI's owner death
# through the scope. As tu: everything of proc and cmd/tether too, every
# behaviour running on the systemd backend (and pgid) as a user.
gotest root "$PKG_SYSTEMD" systemd.test -test.v -test.count=1 -test.timeout=5m
gotest root "$PKG_PROC" proc.test -test.run '^TestLimit' -test.v -test.count=1 -test.timeout=5m
gotest root "$PKG_TETHER" tether.test -test.run '^(TestRunOwnerSIGKILL|TestDoctor|TestRunUnusable)' -test.count=1 -test.timeout=5m
gotest tu "$PKG_SYSTEMD" systemd.test -test.v -test.count=1 -test.timeout=5m
gotest tu "$PKG_PROC" proc.test -test.short -test.skip "$TIMING" -test.count=1 -test.timeout=8m
gotest tu "$PKG_TETHER" tether.test -test.count=1 -test.timeout=5m

cli root-service systemd || status=1
guarded 300 systemd-run --quiet --wait --pipe --collect -p Delegate=yes /tether/guest.sh cli delegate-service cgroupv2 || status=1
guarded 300 su -l tu -c '/tether/guest.sh cli user-session systemd' || status=1
guarded 300 su -l tu -c 'DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus XDG_RUNTIME_DIR=/nonexistent /tether/guest.sh cli no-bus pgid' || status=1

# Nothing of tether's is left: no unit of either manager, no cgroup.
left=""
for i in $(seq 100); do
	left="$(systemctl list-units --all --plain --no-legend 'tether-*')$(su -l tu -c "systemctl --user list-units --all --plain --no-legend 'tether-*'")$(find /sys/fs/cgroup -name 'tether-*')"
	[[ -z $left ]] && break
	sleep 0.1
done
if [[ -n $left ]]; then
	echo "systemd-vm: FAIL: left behind:"
	echo "$left"
	status=1
else
	echo "systemd-vm: no tether-* unit or cgroup left"
fi

echo "systemd-vm: done at guest uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "$(cat /tether/marker) $status"
systemctl poweroff --force
