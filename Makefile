# drum-monitor — see README.md. Every target installs what it needs on Debian (as root).
VERSION     := $(shell cat VERSION)
PREFIX      ?= /usr/local
DESTDIR     ?=
SYSCONFDIR  ?= /etc
# Units and the sysusers.d file: /lib/systemd/system and /usr/lib/sysusers.d belong to packages
# (PREFIX=/usr, as debian/rules installs); PREFIX=/usr/local uses systemd's /usr/local/lib search
# paths; any other PREFIX, /etc (where systemd also looks).
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(if $(filter /usr/local,$(PREFIX)),/usr/local/lib/systemd/system,$(SYSCONFDIR)/systemd/system))
SYSUSERSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/sysusers.d,$(if $(filter /usr/local,$(PREFIX)),/usr/local/lib/sysusers.d,$(SYSCONFDIR)/sysusers.d))
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/drum-monitor
DOC_FILES   ?= README.md CHANGELOG.md LICENSE
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(if $(filter /usr,$(PREFIX)),/usr/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
SWIFT       ?= swift
STATIC_DIR  := .build-static
STATIC_BIN  := $(STATIC_DIR)/release/drum-monitor
# The man page and completions, generated from the shipped binary's own --help.
GEN_DIR     := $(STATIC_DIR)/generated
DIST_DIR    := dist
ARCH        := $(shell dpkg --print-architecture 2>/dev/null || uname -m)
DEBUG_BIN   := .build/debug/drum-monitor
DRUM_VENV   ?= /var/cache/drum-monitor/drum-venv
# make run serves here; /run needs root, so others get a socket under /tmp.
RUN_SOCKET  ?= $(if $(filter 0,$(shell id -u)),/run/drum-monitor/drum-monitor.sock,/tmp/drum-monitor-$(USER)/drum-monitor.sock)
UNITS       := drum-monitor.service drum-monitor.socket drum-monitor-metrics.socket drum-monitor@.service drum-monitor@.socket

APT_PACKAGES := libsystemd-dev libyaml-dev pkg-config systemd util-linux procps python3 curl tmux
# For make deb and its checks (Tests/Package).
DEB_PACKAGES := debhelper lintian fakeroot binutils man-db

.PHONY: all deps deps-deb deps-prometheus build build-static generated run test test-unit test-drum test-scripts test-schema test-python \
        test-package test-prometheus system-test bench install install-files uninstall deb dist clean

all: build

# Installs missing Debian packages (needs root; prints what to install otherwise).
deps:
	@packaging/apt-ensure.sh $(APT_PACKAGES)

deps-deb:
	@packaging/apt-ensure.sh $(DEB_PACKAGES)

# prometheus and promtool (Debian's prometheus package, without its recommends) and node_exporter
# (prometheus-node-exporter, for the textfile) for the metrics tier and promtool's checks. Debian
# enables and starts their services when it installs them; installed here only for the tests,
# those services are disabled again.
PROMETHEUS_PACKAGES := prometheus prometheus-node-exporter
deps-prometheus:
	@missing=""; for p in $(PROMETHEUS_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing (for the tests):$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing; \
	    if [ -d /run/systemd/system ]; then for p in $$missing; do \
	      systemctl disable --now $$p.service 2>/dev/null && echo "disabled $$p.service (installed for the tests only)"; done; fi; \
	  else echo "missing Debian packages:$$missing (run as root or: sudo apt-get install --no-install-recommends$$missing)" >&2; exit 1; fi; \
	fi

build: deps
	$(SWIFT) build

# The shipped binary: release, Swift runtime linked in, so it runs without the toolchain. Each
# function in its own section and lld placing the sampling path's together (HOT_SYMBOLS, made by
# Benchmarks/hot_symbols.sh): a tick wakes to cold caches every interval, and its code then spans
# half as many pages (Tests/Package/hot-layout.sh checks it). SwiftPM knows neither that the
# list is an input (a newer list removes the binary, so that it is linked again) nor, for
# objects already built, that the flags changed (other flags than last time start afresh).
HOT_SYMBOLS := packaging/hot-symbols.txt
STATIC_FLAGS := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld \
	-Xlinker --symbol-ordering-file=$(CURDIR)/$(HOT_SYMBOLS) -Xlinker --no-warn-symbol-ordering
build-static: deps
	@if [ -d $(STATIC_DIR) ] && [ "$$(cat $(STATIC_DIR)/flags 2>/dev/null)" != "$(STATIC_FLAGS)" ]; then \
		echo "build-static: new build flags, building $(STATIC_DIR) afresh"; rm -rf $(STATIC_DIR); fi
	@mkdir -p $(STATIC_DIR) && echo "$(STATIC_FLAGS)" >$(STATIC_DIR)/flags
	@if [ $(HOT_SYMBOLS) -nt $(STATIC_BIN) ]; then rm -f $(STATIC_BIN); fi
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_DIR) $(STATIC_FLAGS)

# The daemon in the foreground with the default configuration (Ctrl-C stops it).
run: build
	$(DEBUG_BIN) serve --config config/drum-monitor.yaml --socket $(RUN_SOCKET)

# Every tier this machine can run: unit and real-kernel tests (root: real v1 cgroups), the
# daemon's systemd behaviour, the static binary, real DRUM from PyPI, and the API description.
test: deps deps-prometheus build-static test-scripts test-schema test-package test-prometheus
	venv="$$(Tests/Drum/venv.sh)" || { echo "cannot set up the DRUM venv (Tests/Drum/venv.sh)" >&2; exit 1; }; \
	DRUM_VENV="$$venv" DRUM_MONITOR_STATIC_BIN=$(CURDIR)/$(STATIC_BIN) $(SWIFT) test --no-parallel
	$(MAKE) --no-print-directory test-python

# The VM tier's scripts parse (they run only inside the VM, late in make system-test).
test-scripts:
	Tests/System/check-syntax.sh

# The Python client (clients/python): unit tier on 3.8/3.11/3.13 + mypy, real DRUM, FastAPI.
test-python: build
	DRUM_MONITOR_BIN=$(CURDIR)/$(DEBUG_BIN) clients/python/tests/run.sh

# The daemon's live answers against api/openapi.yaml (Tests/Schema; a cached Python venv).
test-schema: build-static
	venv="$$(Tests/Schema/venv.sh)" || { echo "cannot set up the schema venv (Tests/Schema/venv.sh)" >&2; exit 1; }; \
	DRUM_MONITOR_BIN=$(CURDIR)/$(STATIC_BIN) "$$venv/bin/python" Tests/Schema/check_api.py

# A real Prometheus scraping the daemon's TCP listener, the dashboard's expressions and the alert
# rules (Tests/Prometheus; ~40 s, root).
test-prometheus: deps-prometheus build-static
	DRUM_MONITOR_BIN=$(CURDIR)/$(STATIC_BIN) python3 Tests/Prometheus/test_prometheus.py

# The Debian package and the release tarball from the existing release build, checked: lintian,
# contents, the glibc 2.35 floor, versions, units (Tests/Package).
test-package: deb dist
	Tests/Package/check-package.sh $(DIST_DIR)/drum-monitor_$(VERSION)_$(ARCH).deb $(DIST_DIR)/drum-monitor-$(VERSION)-linux-$(ARCH).tar.gz

# Only the fast tiers (no DRUM venv, no static build).
test-unit: deps
	$(SWIFT) test --no-parallel

# cgroup v2 and systemd as PID 1, for real, in a QEMU VM (see Tests/System).
system-test: deb
	Tests/System/system-test.sh $(DIST_DIR)/drum-monitor_$(VERSION)_$(ARCH).deb

bench: build-static
	DRUM_MONITOR_BIN=$(CURDIR)/$(STATIC_BIN) \
	WINDOW_BENCH_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-window-bench \
	SAMPLER_BENCH_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-sampler-bench \
	STACK_FLOOR_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-stack-floor \
	Benchmarks/bench.sh

# The man page and completions from the release binary (ArgumentParser's --help and completion
# scripts; a completion file is sourced, not run: no #! line); needs $(STATIC_BIN), which only
# make build-static makes.
generated:
	@test -x $(STATIC_BIN) || { echo "$(STATIC_BIN) is missing: run make build-static first" >&2; exit 1; }
	mkdir -p $(GEN_DIR)
	$(STATIC_BIN) --experimental-dump-help | python3 packaging/manpage.py --version "$(VERSION)" \
	  --date "$$(git log -1 --format=%cs 2>/dev/null || date +%F)" >$(GEN_DIR)/drum-monitor.8
	$(STATIC_BIN) --generate-completion-script bash | sed '1{/^#!/d}' >$(GEN_DIR)/drum-monitor.bash
	$(STATIC_BIN) --generate-completion-script zsh >$(GEN_DIR)/_drum-monitor
	$(STATIC_BIN) --generate-completion-script fish >$(GEN_DIR)/drum-monitor.fish

install: build-static
	$(MAKE) install-files
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/drum-monitor.conf; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# Only copies files, building nothing: used by install, debian/rules and dist. Unit files get
# this PREFIX's binary and documentation paths; an existing configuration file is kept.
install-files: generated
	install -D -s -m 0755 $(STATIC_BIN) $(DESTDIR)$(PREFIX)/bin/drum-monitor
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
	  sed -e 's|/usr/local/bin/drum-monitor|$(PREFIX)/bin/drum-monitor|' -e 's|/etc/drum-monitor/|$(SYSCONFDIR)/drum-monitor/|g' \
	      -e 's|/usr/local/share/doc/drum-monitor|$(DOCDIR)|' systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	if [ -n "$(SYSUSERSDIR)" ]; then install -D -m 0644 systemd/drum-monitor.sysusers $(DESTDIR)$(SYSUSERSDIR)/drum-monitor.conf; fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml"; \
	else install -D -m 0644 config/drum-monitor.yaml $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml; fi
	install -D -m 0644 $(GEN_DIR)/drum-monitor.8 $(DESTDIR)$(MANDIR)/man8/drum-monitor.8
	install -D -m 0644 $(GEN_DIR)/drum-monitor.bash $(DESTDIR)$(BASHCOMPDIR)/drum-monitor
	install -D -m 0644 $(GEN_DIR)/_drum-monitor $(DESTDIR)$(ZSHCOMPDIR)/_drum-monitor
	install -D -m 0644 $(GEN_DIR)/drum-monitor.fish $(DESTDIR)$(FISHCOMPDIR)/drum-monitor.fish
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 contrib/prometheus/alerts.yml $(DESTDIR)$(DOCDIR)/prometheus/alerts.yml
	install -D -m 0644 contrib/grafana/drum-monitor.json $(DESTDIR)$(DOCDIR)/grafana/drum-monitor.json

uninstall:
	-@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemctl disable --now drum-monitor-metrics.socket drum-monitor.socket drum-monitor.service; \
	  for u in $$(cd /etc/systemd/system && ls -d */drum-monitor@?* 2>/dev/null | sed 's|.*/||' | sort -u); do \
	    systemctl disable --now "$$u"; done; \
	  systemctl stop 'drum-monitor@*'; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/drum-monitor $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/drum-monitor.conf $(DESTDIR)$(MANDIR)/man8/drum-monitor.8
	rm -f $(DESTDIR)$(BASHCOMPDIR)/drum-monitor $(DESTDIR)$(ZSHCOMPDIR)/_drum-monitor $(DESTDIR)$(FISHCOMPDIR)/drum-monitor.fish
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "left $(DESTDIR)$(SYSCONFDIR)/drum-monitor/ and the drum-monitor group in place (remove them by hand if unwanted)"
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# The Debian package, from the release build above (debian/rules builds nothing; see debian/README.source).
deb: build-static deps-deb
	debian/rules clean
	mkdir -p $(DIST_DIR)
	DEB_DESTDIR=$(CURDIR)/$(DIST_DIR) debian/rules binary
	debian/rules clean
	@echo "built $(DIST_DIR)/drum-monitor_$(VERSION)_$(ARCH).deb"

# A release tarball for hosts that are not Debian-based: the PREFIX=/usr/local tree and its installer.
dist: build-static
	rm -rf $(DIST_DIR)/stage && mkdir -p $(DIST_DIR)/stage/drum-monitor-$(VERSION)-linux-$(ARCH)
	$(MAKE) install-files DESTDIR=$(CURDIR)/$(DIST_DIR)/stage/drum-monitor-$(VERSION)-linux-$(ARCH)/root PREFIX=/usr/local
	install -m 0755 packaging/install.sh $(DIST_DIR)/stage/drum-monitor-$(VERSION)-linux-$(ARCH)/install.sh
	install -m 0644 README.md CHANGELOG.md LICENSE $(DIST_DIR)/stage/drum-monitor-$(VERSION)-linux-$(ARCH)/
	tar -C $(DIST_DIR)/stage --sort=name --owner=0 --group=0 --numeric-owner \
	  --mtime="$$(git log -1 --format=@%ct 2>/dev/null || date +@%s)" \
	  -czf $(DIST_DIR)/drum-monitor-$(VERSION)-linux-$(ARCH).tar.gz drum-monitor-$(VERSION)-linux-$(ARCH)
	rm -rf $(DIST_DIR)/stage
	@echo "built $(DIST_DIR)/drum-monitor-$(VERSION)-linux-$(ARCH).tar.gz"

clean:
	rm -rf .build $(STATIC_DIR) $(DIST_DIR)
	-debian/rules clean
