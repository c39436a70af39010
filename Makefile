# Examlane: build, run and test.
#
#   make setup   install the Debian packages needed to build and test (idempotent)
#   make build   build every command in ./cmd into ./bin, version stamped
#   make run     setup + build, then start the app in demo mode (ARGS=... to pass other arguments)
#   make test    setup, go vet, then go test under a virtual display and a
#                D-Bus session with an unlocked keyring
#   make fuzz    run each Fuzz target for FUZZTIME (default 30s)
#   make package          Linux packages in dist/: .tar.xz and .deb
#   make package-windows  Windows amd64 .zip in dist/ (cross-compiled with MinGW-w64)
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

# STAMP lists the variables set at link time; LDFLAGS is the -ldflags value
# for go build, PKG_GOFLAGS the same for the fyne tool, which reads extra
# link flags from GOFLAGS (one -ldflags=... word per flag).
STAMP := main.version=$(VERSION) main.build=$(BUILD) main.commit=$(COMMIT)
LDFLAGS := $(foreach s,$(STAMP),-X $(s))
PKG_GOFLAGS := -buildvcs=false $(foreach s,$(STAMP),-ldflags=-X=$(s))

# Package builds are reproducible: every file in them gets the commit's time,
# which also dates the AppStream release. Override to stamp another time.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

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

# Where tests leave what a person may want to look at afterwards (the
# end-to-end test's screenshots, in ARTEFACTS/e2e); not committed.
ARTEFACTS ?= build/test-artefacts

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
	cmd:dcmdump=dcmtk \
	cmd:xdotool=xdotool \
	cmd:xz=xz-utils \
	cmd:zip=zip \
	cmd:x86_64-w64-mingw32-gcc=gcc-mingw-w64-x86-64 \
	cmd:dpkg-source=dpkg-dev \
	cmd:bzip2=bzip2

APT_GET ?= apt-get
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# ---------------------------------------------------------------------------

.PHONY: setup check-go libusb-mingw build run test test-in-session fuzz clean print-ldflags print-version \
	package package-windows

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
	@$(MAKE) --no-print-directory libusb-mingw

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

## test: go vet, the Linux and Windows packages, then go test with and
## without the race detector. The package test in cmd/examlane builds the
## packages again and checks they are byte for byte the same as these.
test: setup
	$(GO) vet ./...
	@$(MAKE) --no-print-directory package package-windows
	@EXAMLANE_PACKAGE_DIST=$(abspath $(DIST)) EXAMLANE_ARTEFACTS=$(abspath $(ARTEFACTS)) $(TEST_SESSION) $(MAKE) --no-print-directory test-in-session </dev/null

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

## clean: remove build outputs and files generated for packaging (not the
## libusb build cached in LIBUSB_MINGW).
clean:
	rm -rf bin dist build cmd/examlane/FyneApp.toml cmd/examlane/fyne_metadata_init.go

## print-ldflags: print the -ldflags value that stamps the version (used by tests).
print-ldflags:
	@echo '$(LDFLAGS)'

## print-version: print the version and build number read from FyneApp.toml.
print-version:
	@echo '$(VERSION)+$(BUILD) ($(COMMIT))'

# ---------------------------------------------------------------------------
# Packages
#
# The pinned fyne CLI (`go tool fyne`, the tool directive in go.mod) builds
# the release binary with the metadata of FyneApp.toml, writes the desktop
# entry and, for Windows, embeds the icon, manifest and version resource. It
# works in the main package's directory, where it writes FyneApp.toml, a
# generated fyne_metadata_init.go, the binary and for Windows a fyne.syso;
# so that concurrent builds and tests in this tree never see those files, it
# runs on a copy of the module's sources under PKG_BUILD. The copies are
# built with -trimpath, so the result does not depend on where they are.

DIST ?= dist
PKG_BUILD ?= build/package
APP_ID := $(call toml_details,ID)

LINUX_TAR := $(DIST)/examlane-$(VERSION)-linux-amd64.tar.xz
# Debian names a package name_version-revision_arch.deb; the revision is the
# Build number of FyneApp.toml.
DEB_VERSION := $(VERSION)-$(BUILD)
LINUX_DEB := $(DIST)/examlane_$(DEB_VERSION)_amd64.deb
WINDOWS_ZIP := $(DIST)/examlane-$(VERSION)-windows-amd64.zip

# The .deb's dependencies: the libraries bin/examlane links (ldd, then
# dpkg -S), and those GLFW opens at run time for cursors, monitors and input.
DEB_DEPENDS := libc6 (>= 2.34), libgl1, libx11-6, libusb-1.0-0 (>= 2:1.0.22)
DEB_RECOMMENDS := libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1, gnome-keyring
DEB_MAINTAINER ?= The Examlane Authors <packaging@examlane.invalid>

# MinGW-w64 cross-compiler for the Windows build, and where libusb built with
# it is kept: outside the tree, so that it survives `make clean` and fresh
# clones; `make libusb-mingw` (run by setup) builds it once. The build names
# the library's folder in CGO_LDFLAGS as well as through pkg-config: go's
# build cache does not key cgo packages on pkg-config's link flags, so a
# gousb built earlier against libusb elsewhere would otherwise be reused.
MINGW_CC := x86_64-w64-mingw32-gcc
# The fyne tool compiles C with -fstack-protector-strong -D_FORTIFY_SOURCE=3,
# whose checks MinGW-w64 keeps in libssp; link its static archive so that
# examlane.exe needs no libssp-0.dll. A link flag only: changing it does not
# recompile the C code.
WINDOWS_GOFLAGS := $(PKG_GOFLAGS) -ldflags=-extldflags=-l:libssp.a
LIBUSB_MINGW ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/examlane/libusb-mingw-w64

# stage_source copies the module's source files (tracked and untracked, not
# ignored; without git, all but .git, bin, dist and build) to directory $(1),
# with FyneApp.toml beside the main package for the fyne tool.
define stage_source
rm -rf "$(1)"; mkdir -p "$(1)"; \
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	git ls-files -z -c -o --exclude-standard | \
		while IFS= read -r -d '' f; do [ ! -f "$$f" ] || printf '%s\0' "$$f"; done; \
else \
	find . \( -path ./.git -o -path ./bin -o -path ./dist -o -path ./build \) -prune -o -type f -print0; \
fi | tar --null -T - -cf - | tar -xf - -C "$(1)"; \
cp FyneApp.toml "$(1)/cmd/examlane/FyneApp.toml"
endef

# repro_tar writes directory $(2) (relative to $(1)) as a reproducible
# tar.xz to $(3): sorted names, the commit's time, root owner, fixed modes.
define repro_tar
tar -C "$(1)" --sort=name --format=gnu --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 \
	--numeric-owner --mode=u+rwX,go=rX -cf - "$(2)" | xz -6 -T1 -c >"$(3).tmp"; \
mv "$(3).tmp" "$(3)"
endef

## libusb-mingw: build libusb for the Windows package into LIBUSB_MINGW,
## from Debian's source package (Debian ships no MinGW build of it). Adds a
## deb-src entry mirroring the system's deb entries when none is present.
libusb-mingw:
	@if [ -f "$(LIBUSB_MINGW)/VERSION" ] && [ -f "$(LIBUSB_MINGW)/bin/libusb-1.0.dll" ]; then \
		echo "setup: libusb for Windows: $$(cat "$(LIBUSB_MINGW)/VERSION") in $(LIBUSB_MINGW)"; exit 0; \
	fi; \
	if ! apt-cache showsrc libusb-1.0 2>/dev/null | grep -q '^Version:'; then \
		echo "setup: adding deb-src entries (/etc/apt/sources.list.d/examlane-deb-src.*) for libusb's source"; \
		stanzas=$$(for f in /etc/apt/sources.list.d/*.sources; do \
			if [ -f "$$f" ] && [ "$${f##*/}" != examlane-deb-src.sources ]; then \
				sed -e 's/^Types:.*/Types: deb-src/' "$$f"; echo; \
			fi; \
		done); \
		if [ -n "$$stanzas" ]; then \
			echo "$$stanzas" | $(SUDO) tee /etc/apt/sources.list.d/examlane-deb-src.sources >/dev/null; \
		fi; \
		lines=$$(for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do \
			if [ -f "$$f" ] && [ "$${f##*/}" != examlane-deb-src.list ]; then sed -n 's/^deb /deb-src /p' "$$f"; fi; \
		done); \
		if [ -n "$$lines" ]; then \
			echo "$$lines" | $(SUDO) tee /etc/apt/sources.list.d/examlane-deb-src.list >/dev/null; \
		fi; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive $(APT_GET) update -q </dev/null; \
	fi; \
	unset MAKEFLAGS MFLAGS MAKELEVEL; \
	work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	if [ "$$(id -u)" = 0 ] && id -u _apt >/dev/null 2>&1; then chown _apt "$$work"; fi; \
	echo "setup: building libusb for Windows with $(MINGW_CC) into $(LIBUSB_MINGW)"; \
	(cd "$$work" && $(APT_GET) source -q libusb-1.0 </dev/null) >"$$work/log" 2>&1 || { cat "$$work/log" >&2; exit 1; }; \
	src=$$(find "$$work" -mindepth 1 -maxdepth 1 -type d -name 'libusb-1.0-*'); \
	debver=$$(dpkg-parsechangelog -l "$$src/debian/changelog" -S Version); \
	upver=$${debver#*:}; upver=$${upver%-*}; \
	( cd "$$src" && \
		./configure --host=x86_64-w64-mingw32 --prefix="$(LIBUSB_MINGW)" --enable-shared --disable-static \
			--disable-examples-build --disable-tests-build LDFLAGS=-Wl,--no-insert-timestamp && \
		make && make install-strip DESTDIR="$$work/dest" ) >>"$$work/log" 2>&1 || { tail -40 "$$work/log" >&2; exit 1; }; \
	for f in bin/libusb-1.0.dll lib/libusb-1.0.dll.a lib/pkgconfig/libusb-1.0.pc include/libusb-1.0/libusb.h; do \
		[ -f "$$work/dest$(LIBUSB_MINGW)/$$f" ] || { tail -40 "$$work/log" >&2; echo "setup: libusb's install made no $$f" >&2; exit 1; }; \
	done; \
	install -D -m 0644 "$$src/COPYING" "$$work/dest$(LIBUSB_MINGW)/share/doc/libusb/COPYING"; \
	echo "$$upver (Debian $$debver)" >"$$work/dest$(LIBUSB_MINGW)/VERSION"; \
	rm -rf "$(LIBUSB_MINGW)"; mkdir -p "$$(dirname "$(LIBUSB_MINGW)")"; \
	cp -a "$$work/dest$(LIBUSB_MINGW)" "$(LIBUSB_MINGW)"; \
	echo "setup: libusb for Windows: $$(cat "$(LIBUSB_MINGW)/VERSION") in $(LIBUSB_MINGW)"

## package: build the Linux packages into DIST: a .tar.xz (binary, desktop
## entry, icon, AppStream metainfo, and a Makefile: `sudo make install`) and
## a .deb. The tarball is fyne's, repacked reproducibly, with the metainfo
## added to it and to its Makefile, whose Icon fyne 1.7.2 names without the
## .png its icon file has.
package: setup
	@work=$(abspath $(PKG_BUILD))/linux; dist=$(abspath $(DIST)); \
	echo "package: $(LINUX_TAR) and $(LINUX_DEB) ($(VERSION)+$(BUILD), $(COMMIT))"; \
	$(call stage_source,$$work/src); \
	fyne=$$($(GO) tool -n fyne); \
	( cd "$$work/src/cmd/examlane" && GOFLAGS='$(PKG_GOFLAGS)' "$$fyne" package -os linux -release ); \
	rm -rf "$$work/tar"; mkdir -p "$$work/tar"; \
	tar -C "$$work/tar" -xJf "$$work/src/cmd/examlane/$(call toml_details,Name).tar.xz"; \
	top="$$work/tar/examlane-$(VERSION)"; mv "$$work/tar/examlane" "$$top"; \
	date=$$(date -u -d @$(SOURCE_DATE_EPOCH) +%F); \
	sed -e 's/@VERSION@/$(VERSION)/g' -e "s/@DATE@/$$date/g" assets/linux/$(APP_ID).metainfo.xml.in \
		>"$$work/metainfo.xml"; \
	install -D -m 0644 "$$work/metainfo.xml" "$$top/usr/local/share/metainfo/$(APP_ID).metainfo.xml"; \
	awk '/^Icon := / && !/\.png"$$/ { sub(/"$$/, ".png\"") } \
		{ print } /(pixmaps|icons)\/\$$\(Icon\)/ { gsub(/(pixmaps|icons)\/\$$\(Icon\)/, "metainfo/$$(AppID).metainfo.xml"); print }' \
		"$$top/Makefile" >"$$top/Makefile.new" && mv "$$top/Makefile.new" "$$top/Makefile"; \
	mkdir -p "$$dist"; \
	$(call repro_tar,$$work/tar,examlane-$(VERSION),$$dist/$(notdir $(LINUX_TAR))); \
	root="$$work/deb"; rm -rf "$$root"; \
	install -D -m 0755 "$$top/usr/local/bin/examlane" "$$root/usr/bin/examlane"; \
	install -D -m 0644 "$$top/usr/local/share/applications/$(APP_ID).desktop" "$$root/usr/share/applications/$(APP_ID).desktop"; \
	install -D -m 0644 assets/icon/Icon.png "$$root/usr/share/icons/hicolor/512x512/apps/$(APP_ID).png"; \
	install -D -m 0644 "$$work/metainfo.xml" "$$root/usr/share/metainfo/$(APP_ID).metainfo.xml"; \
	mkdir -p "$$root/usr/share/doc/examlane" "$$root/DEBIAN"; \
	{ echo 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'; \
	  echo 'Upstream-Name: Examlane'; echo; \
	  echo 'Files: *'; echo 'Copyright: The Examlane Authors'; echo 'License: Apache-2.0'; \
	  echo ' On Debian systems the full text of the Apache License, Version 2.0 is in'; \
	  echo ' /usr/share/common-licenses/Apache-2.0.'; } >"$$root/usr/share/doc/examlane/copyright"; \
	{ echo 'Package: examlane'; \
	  echo 'Version: $(DEB_VERSION)'; \
	  echo 'Architecture: amd64'; \
	  echo 'Maintainer: $(DEB_MAINTAINER)'; \
	  echo "Installed-Size: $$(du -sk --apparent-size "$$root/usr" | cut -f1)"; \
	  echo 'Depends: $(DEB_DEPENDS)'; \
	  echo 'Recommends: $(DEB_RECOMMENDS)'; \
	  echo 'Section: science'; \
	  echo 'Priority: optional'; \
	  echo 'Description: exam-lane software for optometry practices'; \
	  echo ' Examlane records pretest readings, refraction and glasses checks in an'; \
	  echo ' optometry exam lane. It reads instruments over serial, USB and drop'; \
	  echo ' folders, keeps patient data encrypted under a key in the system keychain,'; \
	  echo ' works offline and synchronises with the practice server.'; } >"$$root/DEBIAN/control"; \
	(cd "$$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$$root/DEBIAN/md5sums"; \
	chmod 0644 "$$root/DEBIAN/control" "$$root/DEBIAN/md5sums"; \
	find "$$root" -type d -exec chmod 0755 {} +; \
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) dpkg-deb --root-owner-group -Zxz --build "$$root" "$$dist/$(notdir $(LINUX_DEB))" >/dev/null; \
	ls -l "$$dist/$(notdir $(LINUX_TAR))" "$$dist/$(notdir $(LINUX_DEB))"

## package-windows: cross-compile Examlane for Windows amd64 with MinGW-w64
## and zip it into DIST with libusb-1.0.dll, the licences and an example
## configuration. The fyne tool embeds the icon and version resource.
##
## Without --executable, fyne 1.7.2 builds Windows programs twice, and takes
## the link flags out of GOFLAGS in the first build, so the second, the one
## it keeps, would lack the version stamp. Naming an existing (empty)
## executable skips the first build.
package-windows: setup
	@work=$(abspath $(PKG_BUILD))/windows; dist=$(abspath $(DIST)); \
	echo "package: $(WINDOWS_ZIP) ($(VERSION)+$(BUILD), $(COMMIT))"; \
	$(call stage_source,$$work/src); \
	fyne=$$($(GO) tool -n fyne); \
	( cd "$$work/src/cmd/examlane" && : >examlane.exe && \
		GOFLAGS='$(WINDOWS_GOFLAGS)' GOARCH=amd64 CC=$(MINGW_CC) \
		PKG_CONFIG_LIBDIR="$(LIBUSB_MINGW)/lib/pkgconfig" PKG_CONFIG_PATH= \
		CGO_LDFLAGS="-O2 -g -L$(LIBUSB_MINGW)/lib" \
		"$$fyne" package -os windows -release --executable examlane.exe ); \
	zip="$$work/zip"; rm -rf "$$zip"; mkdir -p "$$zip"; \
	install -m 0755 "$$work/src/cmd/examlane/$(call toml_details,Name).exe" "$$zip/examlane.exe"; \
	install -m 0755 "$(LIBUSB_MINGW)/bin/libusb-1.0.dll" "$$zip/libusb-1.0.dll"; \
	install -m 0644 LICENSE "$$zip/LICENSE.txt"; \
	install -m 0644 "$(LIBUSB_MINGW)/share/doc/libusb/COPYING" "$$zip/libusb-COPYING.txt"; \
	install -m 0644 cmd/internal/laneconfig/example.toml "$$zip/examlane.example.toml"; \
	read -r libusb _ debian <"$(LIBUSB_MINGW)/VERSION"; debian=$${debian%)}; \
	sed -e 's/@VERSION@/$(VERSION)/g' -e "s/@LIBUSB_VERSION@/$$libusb/g" -e "s/@LIBUSB_DEBIAN_VERSION@/$$debian/g" \
		assets/windows/NOTICE.txt.in >"$$zip/NOTICE.txt"; \
	touch -d @$(SOURCE_DATE_EPOCH) "$$zip"/*; \
	mkdir -p "$$dist"; rm -f "$$dist/$(notdir $(WINDOWS_ZIP))"; \
	(cd "$$zip" && ls | LC_ALL=C sort | TZ=UTC zip -X -9 -q "$$dist/$(notdir $(WINDOWS_ZIP))" -@); \
	ls -l "$$dist/$(notdir $(WINDOWS_ZIP))"
