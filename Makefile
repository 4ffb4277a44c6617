# tether's build, test and CI targets. `make ci` is what .ci/run runs.
SHELL := /bin/bash
GO    ?= go
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
CROSS_OS   := windows darwin freebsd openbsd netbsd
CROSS_ARCH := amd64 arm64

.PHONY: test lint cross test-windows bench ci tools check-cgroups stress fuzz soak

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

## bench: benchmarks side by side with raw os/exec, BENCH_COUNT times
## (one `go test -count=1` each, so raw and tether run seconds apart in
## every repetition), then the table of ratios (tether ÷ raw) and issue
## 3's targets.
BENCH_COUNT ?= 5
bench:
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; set -o pipefail; status=0; \
	for i in $$(seq $(BENCH_COUNT)); do \
		$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee -a "$$out" || status=$$?; \
	done; \
	echo; $(GO) run scripts/benchratio.go < "$$out" && exit $$status

## stress: the stress tier of groups (issue 5) without the race detector,
## whose 3x slowdown would turn a minute into several: 200 concurrent
## starts then Close, 1,000 group cycles back to baseline, 10,000 runs
## through one group with a flat heap.
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

## fuzz: every fuzz target for FUZZTIME (default 10s), one at a time, the
## package and the target in each entry of FUZZ_TARGETS. A failure stops
## the run and leaves the failing input under the package's
## testdata/fuzz/<target>/ (see docs/testing.md, "Fuzzing").
FUZZTIME ?= 10s
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
		echo "fuzz: $$name in ./$$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

## ci: everything CI runs; the test run comes last so its summary closes the log.
ci: lint cross test-windows fuzz stress test
