//go:build unix

package watchdog

// launcher is the program /bin/sh runs with the pipe's read end as fd 3.
// It forks the watchdog into the background (a subshell, so no second
// exec), prints its pid and exits.
//
// The signals are ignored before the fork, so the watchdog is born
// ignoring them (a subshell keeps ignored dispositions): a trap inside it
// would leave a window after the launcher has already reported the pid.
// The subshell's standard input is set explicitly from fd 3 (a background
// list in a shell without job control otherwise gets /dev/null), with
// exec, so the shell keeps no saved copy of any descriptor; its standard
// output and error go to /dev/null, so it never holds a pipe or terminal
// of the owner's (a caller reading the owner's output to EOF must not
// wait for the watchdog).
const launcher = `set +eu
trap '' HUP INT QUIT TERM
( exec <&3 3<&- >/dev/null 2>&1
` + watchdogLoop + ` ) &
echo "$!"
`

// watchdogLoop is the watchdog itself.
//
// Protocol, one line per message, fields separated by single spaces:
//
//	c SLOT PATH   register the cgroup directory PATH (absolute) in SLOT
//	p SLOT PGID   register the process group PGID in SLOT
//	u SLOT        unregister SLOT
//
// SLOT is a small positive integer the owner allocates and reuses, so the
// table is one shell variable per slot (t_SLOT) and the final sweep walks
// 1..max slot ever used, bounded by the owner's peak number of live
// registrations. PATH is the rest of the line, taken verbatim by
// "read -r" with IFS set to a single space (tabs, quotes, '$', '*' and
// backslashes survive; the owner rejects newlines and a trailing space).
// It is only ever expanded inside double quotes, and eval sees the text
// "t_SLOT=$op$arg", never the value, so no character of PATH is ever
// interpreted by the shell. Every line is written by a single write of at
// most PIPE_BUF bytes, which the kernel makes atomic; a last line cut off
// by the owner's death has no newline, and "read" reports it as EOF, so it
// is never acted on.
//
// On EOF it first kills everything (fast: one write or kill per tree),
// then, for each cgroup, waits up to about 2 s for "populated 0" and
// removes the directory, nested cgroups first. A failed kill (a cgroup
// already removed by Close, a group already gone) fails quietly: stderr
// is /dev/null. Leftover empty cgroups are swept by the next tether owner
// on the host anyway.
//
// A PGID of 0 or 1, or with a leading zero, is refused here as well as in
// the owner: "kill -KILL -1" would hit every process the user may signal.
const watchdogLoop = `
settle() {
	s=0
	while [ "$s" -lt 200 ]; do
		p=0
		{ while read -r k v; do if [ "$k" = populated ]; then p=$v; fi; done; } <"$1/cgroup.events" 2>/dev/null
		if [ "$p" = 0 ]; then return 0; fi
		sleep 0.01
		s=$((s + 1))
	done
}
rmtree() {
	for d in "$1"/*/; do
		if [ -d "$d" ]; then rmtree "${d%/}"; fi
	done
	r=0
	while [ -d "$1" ] && [ "$r" -lt 20 ]; do
		if rmdir "$1"; then return 0; fi
		sleep 0.01
		r=$((r + 1))
	done
}
n=0
while IFS=' ' read -r op slot arg; do
	case $slot in ''|*[!0-9]*) continue ;; esac
	case $op in
	c) case $arg in /*) ;; *) continue ;; esac ;;
	p) case $arg in ''|*[!0-9]*|0*|1) continue ;; esac ;;
	u) unset "t_$slot"; continue ;;
	*) continue ;;
	esac
	eval "t_$slot=\$op\$arg"
	if [ "$slot" -gt "$n" ]; then n=$slot; fi
done
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	eval "t=\${t_$i-}"
	case $t in
	p*) kill -s KILL -- "-${t#p}" ;;
	c*) printf 1 >"${t#c}/cgroup.kill" ;;
	esac
done
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	eval "t=\${t_$i-}"
	case $t in c*) settle "${t#c}"; rmtree "${t#c}" ;; esac
done
`
