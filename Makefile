# Examlane: build, run and test.
#
#   make setup   install the Debian packages needed to build and test (idempotent)
#   make build   build every command in ./cmd into ./bin, version stamped
#   make run     setup + build, then start the app in demo mode (ARGS=... to pass other arguments)
#   make test    setup, go vet, then go test under a virtual display and a
#                D-Bus session with an unlocked keyring
#   make fuzz    run each Fuzz target for FUZZTIME (default 30s)
#   make clean   remove build outputs
#
# Works as root or with sudo, without a terminal and with CI=true.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
# Targets run one after another (setup before build before run); the go
# command parallelises its own work.
.NOTPARALLEL:

GO ?= go
# Oldest Go release that builds the module (go.mod says go 1.26).
GO_MIN := 1.26

# A UTF-8 locale that exists on every Debian system, for run and test.
# Fyne takes its language from LANGUAGE when set, else from LANG, and cannot
# parse the "C" of C.UTF-8: it would log "Error parsing user locale C" at
# every start. LANGUAGE names the language explicitly.
export LANG := C.UTF-8
export LANGUAGE := en

# ---------------------------------------------------------------------------
# Version stamping

# toml_details reads key $(1) from the [Details] table of FyneApp.toml, the
# single source of the app's metadata.
toml_details = $(shell awk -F= '/^[[:space:]]*\[/ { t = $$0; gsub(/[[:space:]]/, "", t) } \
	t == "[Details]" && $$1 ~ /^[[:space:]]*$(1)[[:space:]]*$$/ { v = $$2; gsub(/[[:space:]"]/, "", v); print v }' FyneApp.toml)

VERSION := $(call toml_details,Version)
BUILD := $(call toml_details,Build)

# Short commit hash, "-dirty" when the work tree differs from it, "unknown"
# outside git or before the first commit.
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
ifneq ($(COMMIT),unknown)
ifneq ($(shell git status --porcelain 2>/dev/null),)
COMMIT := $(COMMIT)-dirty
endif
endif

LDFLAGS := -X main.version=$(VERSION) -X main.build=$(BUILD) -X main.commit=$(COMMIT)

# ---------------------------------------------------------------------------
# Tests

# Packages tested with the race detector, and packages tested without it, as
# go list patterns. A package matched by NORACE_PKGS runs without -race even
# when RACE_PKGS matches it too. modernc.org/sqlite is transpiled C and runs
# many times slower under -race, too slow for 2 cores; cmd/examlane,
# cmd/practiced and cmd/devsim embed it or link the whole app. Override on the
# command line, e.g.
#   make test NORACE_PKGS=./cmd/...        (race on localdb as well)
#   make test RACE_PKGS= NORACE_PKGS=./... (no race detector at all)
RACE_PKGS ?= ./...
NORACE_PKGS ?= ./localdb/... ./cmd/examlane ./cmd/examlane/internal/signin ./cmd/practiced/... ./cmd/devsim

TEST_TIMEOUT ?= 20m
TESTFLAGS ?= -timeout $(TEST_TIMEOUT)

FUZZTIME ?= 30s

# Device fixtures shared beside the repository, when present.
FIXTURES := $(abspath ../shared/fixtures)
ifneq ($(wildcard $(FIXTURES)),)
export EXAMLANE_FIXTURES := $(FIXTURES)
endif

# existing keeps the patterns in $(1) whose directory exists, so that a
# pattern for a package not written yet is not an error.
existing = $(foreach p,$(1),$(if $(wildcard $(patsubst %/...,%,$(p))),$(p)))

# list_pkgs is a shell command printing the import paths matched by the
# patterns in $(1), one a line; nothing when no pattern is left.
list_pkgs = $(if $(call existing,$(1)),$(GO) list -e $(call existing,$(1)),true)

# Tests run under a virtual X display (Fyne needs one to open windows) and a
# private D-Bus session whose Secret Service (gnome-keyring) is unlocked, so
# that keychain tests use a real keyring. `make test` starts that session and
# runs `make test-in-session` inside it.
TEST_SESSION := xvfb-run -a -s '-screen 0 1600x1000x24' dbus-run-session --

# ---------------------------------------------------------------------------
# System prerequisites

# Each entry is PROBE=PACKAGE: the Debian PACKAGE is installed when PROBE
# fails. cmd:NAME looks for a command on PATH, pc:MODULE asks pkg-config for a
# C library, deb:NAME asks dpkg whether package NAME is installed.
PREREQS := \
	cmd:gcc=gcc \
	cmd:make=make \
	cmd:pkg-config=pkg-config \
	pc:gl=libgl1-mesa-dev \
	pc:x11=xorg-dev \
	pc:xcursor=xorg-dev \
	pc:xrandr=xorg-dev \
	pc:xinerama=xorg-dev \
	pc:xi=xorg-dev \
	pc:xxf86vm=xorg-dev \
	pc:libusb-1.0=libusb-1.0-0-dev \
	cmd:xvfb-run=xvfb \
	cmd:xauth=xauth \
	cmd:socat=socat \
	cmd:dbus-run-session=dbus \
	cmd:gnome-keyring-daemon=gnome-keyring \
	deb:imagemagick=imagemagick \
	cmd:dcmdump=dcmtk

APT_GET ?= apt-get
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# ---------------------------------------------------------------------------

.PHONY: setup check-go build run test test-in-session fuzz clean print-ldflags print-version

## setup: check Go and install the missing Debian packages.
setup: check-go
	@missing=""; \
	for entry in $(PREREQS); do \
		probe=$${entry%%=*}; pkg=$${entry#*=}; \
		case $$probe in \
			cmd:*) command -v "$${probe#cmd:}" >/dev/null 2>&1 ;; \
			pc:*)  pkg-config --exists "$${probe#pc:}" >/dev/null 2>&1 ;; \
			deb:*) dpkg-query -W -f='$${Status}' "$${probe#deb:}" 2>/dev/null | grep -q 'ok installed' ;; \
		esac || case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg" ;; esac; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "setup: present: $(sort $(foreach e,$(PREREQS),$(lastword $(subst =, ,$(e)))))"; \
		echo "setup: nothing to install"; \
		exit 0; \
	fi; \
	echo "setup: missing:$$missing"; \
	if ! command -v $(APT_GET) >/dev/null 2>&1; then \
		echo "setup: $(APT_GET) not found; install the packages above (or their equivalents) by hand" >&2; \
		exit 1; \
	fi; \
	echo "setup: $(strip $(SUDO) $(APT_GET)) update"; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive $(APT_GET) update -q </dev/null; \
	echo "setup: $(strip $(SUDO) $(APT_GET)) install$$missing"; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -q --no-install-recommends $$missing </dev/null

## check-go: fail with a clear message unless go >= GO_MIN is on PATH.
check-go:
	@if ! command -v $(GO) >/dev/null 2>&1; then \
		echo "setup: '$(GO)' not found on PATH: install Go $(GO_MIN) or newer (https://go.dev/dl/)" >&2; \
		exit 1; \
	fi; \
	v=$$($(GO) env GOVERSION); \
	case $$v in go[0-9]*) ;; *) echo "setup: cannot tell the Go version from '$$v': Examlane needs Go $(GO_MIN) or newer" >&2; exit 1 ;; esac; \
	if ! printf '%s\n' $(GO_MIN) "$${v#go}" | sort -V -C; then \
		echo "setup: $$v is too old: Examlane needs Go $(GO_MIN) or newer (https://go.dev/dl/)" >&2; \
		exit 1; \
	fi; \
	echo "setup: $$v (need go$(GO_MIN) or newer)"

## build: build every command in ./cmd into ./bin.
build:
	@mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

## run: start the desktop app in demo mode (synthetic practice, local
## server, simulated instruments); ARGS=... replaces "demo", e.g.
## `make run ARGS=` for the real lane or `make run ARGS="demo --reset"`.
ARGS ?= demo
run: setup build
	./bin/examlane $(ARGS)

## test: go vet, then go test with and without the race detector.
test: setup
	$(GO) vet ./...
	@$(TEST_SESSION) $(MAKE) --no-print-directory test-in-session </dev/null

# test-in-session unlocks a throw-away login keyring, then runs go test on the
# NORACE_PKGS packages and then, with -race, on the other RACE_PKGS packages.
# It fails if either run failed; the output ends with go test's own lines.
test-in-session:
	@keyrings=$$(mktemp -d); trap 'rm -rf "$$keyrings"' EXIT; \
	echo -n pw | XDG_DATA_HOME="$$keyrings" gnome-keyring-daemon --unlock --components=secrets >/dev/null || \
		{ echo "test: gnome-keyring-daemon could not unlock a keyring" >&2; exit 1; }; \
	norace=$$($(call list_pkgs,$(NORACE_PKGS))); \
	race=$$($(call list_pkgs,$(RACE_PKGS)) | grep -vxF -f <(printf '%s\n' $$norace) || true); \
	status=0; \
	if [ -n "$$norace" ]; then echo "go test $(TESTFLAGS) $(NORACE_PKGS)"; $(GO) test $(TESTFLAGS) $$norace || status=1; fi; \
	if [ -n "$$race" ]; then echo "go test -race $(TESTFLAGS) $(RACE_PKGS) (less the above)"; $(GO) test -race $(TESTFLAGS) $$race || status=1; fi; \
	exit $$status

## fuzz: run each Fuzz target in the module for FUZZTIME.
fuzz:
	@dirs=$$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); \
	if [ -z "$$dirs" ]; then echo "fuzz: no Fuzz targets found"; exit 0; fi; \
	for dir in $$dirs; do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$dir"/*_test.go); do \
			echo "fuzz: $$dir $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$dir" </dev/null; \
		done; \
	done

## clean: remove build outputs and files generated for packaging.
clean:
	rm -rf bin dist cmd/examlane/FyneApp.toml cmd/examlane/fyne_metadata_init.go

## print-ldflags: print the -ldflags value that stamps the version (used by tests).
print-ldflags:
	@echo '$(LDFLAGS)'

## print-version: print the version and build number read from FyneApp.toml.
print-version:
	@echo '$(VERSION)+$(BUILD) ($(COMMIT))'
