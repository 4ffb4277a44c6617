# tether's build, test and CI targets. `make ci` is what .ci/run runs.
SHELL := /bin/bash
GO    ?= go
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
CROSS_OS   := windows darwin freebsd openbsd netbsd
CROSS_ARCH := amd64 arm64

.PHONY: build test lint cross test-windows test-vm test-systemd bench ci tools check-cgroups stress fuzz soak

## build: the release build of the tether command, into bin/tether:
## static (CGO_ENABLED=0: no dynamic loader or libc to map at every
## start, about 1 ms of each `tether` process's and of its watchdog's,
## measured on Linux 6.18; the pure-Go resolver and user lookup serve
## what net and os/user are linked for) and without local paths.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tether ./cmd/tether

## test: every package with the race detector, then a check that no
## tether-* cgroup directory is left on this host.
test:
	$(GO) test -race -count=1 ./...
	@# The race detector's shadow memory triples RSS, so the 64 MiB bound
	@# of the capture-cap test is asserted in a build without it.
	@# Only the summary lines are shown, unless it fails: then all of it.
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	if $(GO) test -count=1 -run 'TestCaptureCapBoundsMemory' -v ./proc/ >"$$out" 2>&1; then \
		grep -E '^(---|ok)|peak RSS' "$$out"; \
	else cat "$$out"; exit 1; fi
	@$(MAKE) --no-print-directory check-cgroups

check-cgroups:
	@left=$$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'tether-*' 2>/dev/null); \
	if [ -n "$$left" ]; then echo "cgroups left behind:"; echo "$$left"; exit 1; fi; \
	echo "no tether-* cgroup left behind"

## lint: go vet, golangci-lint (v2) for linux and windows, and gofmt.
lint: tools
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	GOOS=windows $(GOLANGCI_LINT) run ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi

tools:
	@if ! $(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)"; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION)"; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

## cross: build and vet (tests included) for every other OS we support.
cross:
	@set -e; for os in $(CROSS_OS); do for arch in $(CROSS_ARCH); do \
		echo "cross: $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build ./...; \
		GOOS=$$os GOARCH=$$arch $(GO) vet ./...; \
	done; done

## test-windows: the Windows tests, cross-compiled and run under Wine.
test-windows:
	scripts/test-windows.sh

## test-vm: the resource-limit tests, with the whole contain/cgroupv2 and
## proc suites, in throwaway qemu VMs whose kernel has a pure cgroup v2
## hierarchy with every controller (this host's hybrid one enforces no
## limit). scripts/vm/setup.sh installs qemu and busybox and fetches a
## Debian cloud kernel once; scripts/vm/vmexec boots one VM per package.
## Why no -race and why -short: docs/testing.md, "Limits in a VM".
test-vm:
	scripts/vm/setup.sh
	$(GO) test -exec "$(CURDIR)/scripts/vm/vmexec" -p 1 -count=1 -short -timeout 12m ./contain/cgroupv2/ ./proc/

## test-systemd: one boot of a Debian VM whose PID 1 is systemd, in which
## contain/systemd's, proc's and cmd/tether's static test binaries run as
## root (from a system service) and as a user through a login session
## (su -l, pam_systemd), then `tether run` in four kinds of host (a root
## service, a Delegate=yes service, a login session, a user with no
## bus). scripts/vm/systemd-rootfs.sh builds the root file system with
## mmdebstrap once, cached beside the kernel and rebuilt only when its
## recipe changes; scripts/vm/systemd-test.sh boots it under qemu. See
## docs/testing.md, "systemd in a VM".
test-systemd:
	scripts/vm/setup.sh
	scripts/vm/systemd-rootfs.sh
	GO=$(GO) scripts/vm/systemd-test.sh

## bench: every benchmark side by side with raw os/exec, BENCH_COUNT
## times (one `go test -count=1` each, so raw and tether run seconds apart
## in every repetition); then the table of ratios (tether ÷ raw) and the
## issues' targets on stdout, and the report (scripts/benchreport): the
## generated section of docs/benchmarks.md (the machine and its load, the
## ratios, the owner-death watchdog's cost, the VM limit tests' figures)
## and the chart docs/bench-ratios.svg. test-vm's limit tests (VM_LIMIT_RUN)
## run after the benchmarks if a VM is set up (scripts/vm/setup.sh has
## filled $TETHER_VM_CACHE, default /var/cache/tether-vm); VM_LOG=<file>
## reports a `go test -v` log of them instead, BENCH_VM=0 leaves them out.
## Last, every sub-benchmark that missed a target runs once more under a
## profiler (a whole-process start gets a breakdown of that start instead),
## and the profiles go to stdout and into the report; BENCH_PROFILE=0
## leaves them out. A missed target is reported, never a failure: make
## bench fails if a benchmark (in a repetition or in its profile run) or a
## limit test failed, once the report is written.
BENCH_COUNT ?= 5
BENCH_PROFILE ?= 1
BENCH_VM ?= 1
VM_LOG ?=
VM_LIMIT_RUN ?= ^(TestEnforced|TestLimit)
bench: export BENCH_VM_CMD = $(GO) test -exec "$$PWD/scripts/vm/vmexec" -p 1 -count=1 -short -timeout 12m -run '$(VM_LIMIT_RUN)' -v ./contain/cgroupv2/ ./proc/
bench:
	@out=$$(mktemp); vmlog=$$(mktemp); trap 'rm -f "$$out" "$$vmlog"' EXIT; set -o pipefail; status=0; \
	start=$$(date +%s); load0=$$(cut -d' ' -f1-3 /proc/loadavg); \
	for i in $$(seq $(BENCH_COUNT)); do \
		$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee -a "$$out" || status=$$?; \
	done; \
	load1=$$(cut -d' ' -f1-3 /proc/loadavg); benchstatus=$$status; \
	cache=$${TETHER_VM_CACHE:-/var/cache/tether-vm}; vm=(-vm-run '$(VM_LIMIT_RUN)'); \
	if [ -n '$(VM_LOG)' ]; then vm+=(-vm-log '$(VM_LOG)'); \
	elif [ '$(BENCH_VM)' = 0 ]; then vm+=(-vm-skip 'BENCH_VM=0 was given'); \
	elif [ ! -x scripts/vm/vmexec ]; then vm+=(-vm-skip 'scripts/vm/vmexec is not in this tree'); \
	elif [ ! -s "$$cache/vmlinuz" ] || [ ! -s "$$cache/base.cpio.gz" ]; then \
		vm+=(-vm-skip "no VM is set up ($$cache has no kernel or base initramfs; scripts/vm/setup.sh, run by make test-vm, makes them)"); \
	elif ! command -v qemu-system-x86_64 >/dev/null; then \
		vm+=(-vm-skip "qemu-system-x86_64 is not installed (scripts/vm/setup.sh installs it)"); \
	else \
		echo; echo "bench: the limit tests in a VM: $$BENCH_VM_CMD"; \
		eval "$$BENCH_VM_CMD" 2>&1 | tee "$$vmlog"; vmstatus=$$?; [ $$vmstatus = 0 ] || status=$$vmstatus; \
		vm+=(-vm-log "$$vmlog" -vm-cmd "$$BENCH_VM_CMD" -vm-status $$vmstatus \
			-vm-kernel "$$(cut -d' ' -f1 "$$cache/kernel.txt" 2>/dev/null), in qemu with $${TETHER_VM_CPUS:-2} vCPUs and $${TETHER_VM_MEM:-1024} MiB"); \
	fi; \
	echo; $(GO) run ./scripts/benchreport -md docs/benchmarks.md -svg docs/bench-ratios.svg \
		-count $(BENCH_COUNT) -start $$start -load-start "$$load0" -load-end "$$load1" -bench-status $$benchstatus \
		-commit "$$(git rev-parse --short HEAD)$$([ -z "$$(git status --porcelain --untracked-files=no)" ] || echo ' + uncommitted changes')" \
		-cpus "$$(nproc)" -mem "$$(awk '/^MemTotal:/ { printf "%.0f GiB", $$2 / 1048576 }' /proc/meminfo)" \
		-kernel "$$(uname -sr)" -go "$$($(GO) env GOVERSION)" "$${vm[@]}" \
		-go-command '$(GO)' $$([ '$(BENCH_PROFILE)' = 0 ] || echo -profile) < "$$out" && exit $$status

## stress: the stress tier of groups (issues 5, 12, 13) without the race
## detector, whose 3x slowdown would turn minutes into many: 200
## concurrent starts then Close, 1,000 group cycles back to baseline,
## 10,000 runs through one group with a flat heap, 1,000 rounds of Start
## against Suspend, Resume and Signal, 200 owner deaths while pgid runs
## start.
stress:
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	if TETHER_STRESS=1 $(GO) test -count=1 -timeout 15m -run '^TestStress' -v ./proc/ >"$$out" 2>&1; then \
		grep -E '^(---|ok)|stress_' "$$out"; \
	else cat "$$out"; exit 1; fi

## soak: the soak test (issue 8): SOAK_RUNS runs (CI: the default 2000)
## of a seeded random mix of every kind of run, over both Linux backends,
## 8 at a time; then no process carrying the soak's marker survives, and
## descriptors, goroutines, tether-* cgroups and the heap are back to
## their baseline. The long run: SOAK_RUNS=10000 make soak. The seed is
## printed; TETHER_SOAK_SEED=<seed> make soak reproduces the mix. Shows
## the summary table on success, everything on failure.
SOAK_RUNS ?= 2000
soak:
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	if TETHER_SOAK_RUNS=$(SOAK_RUNS) $(GO) test -count=1 -timeout 30m -run '^TestSoak$$' -v ./proc/ >"$$out" 2>&1; then \
		grep -E '^(---|ok)|soak_linux_test' "$$out"; \
	else cat "$$out"; exit 1; fi

## fuzz: every fuzz target for FUZZTIME (default 250000x: a quarter of a
## million inputs, 2-13 s a target here), one at a time, the package and
## the target in each entry of FUZZ_TARGETS. A failure stops the run and
## leaves the failing input under the package's testdata/fuzz/<target>/.
## The budget is a count, not a duration: Go 1.26's fuzz coordinator can
## report a spurious "context deadline exceeded" when a duration runs out
## (golang/go#75804, fixed in Go 1.27); see docs/testing.md, "Fuzzing".
FUZZTIME ?= 250000x
FUZZ_TARGETS := \
	encoding:FuzzDecoder encoding:FuzzLineReader encoding:FuzzSplitter encoding:FuzzUTF16 \
	proctest:FuzzCassette \
	cmd/tether:FuzzParseDuration cmd/tether:FuzzParseSize cmd/tether:FuzzParseSignal cmd/tether:FuzzRunArgs \
	proc:FuzzEnv \
	contain/cgroupv2:FuzzMountinfo contain/cgroupv2:FuzzMountinfoLine contain/cgroupv2:FuzzProcCgroup contain/cgroupv2:FuzzDiscover \
	internal/sysproc:FuzzParseStat internal/sysproc:FuzzStatFields
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz: $$name in ./$$pkg, budget $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

## ci: everything CI runs; the test run comes last so its summary closes the log.
ci: lint cross test-windows fuzz stress soak test-vm test-systemd test
