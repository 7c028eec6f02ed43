# drum-monitor — see README.md. Every target installs what it needs on Debian (as root).
PREFIX      ?= /usr/local
DESTDIR     ?=
SYSCONFDIR  ?= /etc
UNITDIR     ?= /lib/systemd/system
SWIFT       ?= swift
STATIC_DIR  := .build-static
STATIC_BIN  := $(STATIC_DIR)/release/drum-monitor
DEBUG_BIN   := .build/debug/drum-monitor
DRUM_VENV   ?= /var/cache/drum-monitor/drum-venv
# make run serves here; /run needs root, so others get a socket under /tmp.
RUN_SOCKET  ?= $(if $(filter 0,$(shell id -u)),/run/drum-monitor/drum-monitor.sock,/tmp/drum-monitor-$(USER)/drum-monitor.sock)

APT_PACKAGES := libsystemd-dev libyaml-dev pkg-config systemd util-linux procps python3 curl tmux

.PHONY: all deps build build-static run test test-unit test-drum test-schema test-python system-test bench install uninstall clean

all: build

# Installs missing Debian packages (needs root; prints what to install otherwise).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run as root or: sudo apt-get install$$missing)" >&2; exit 1; fi; \
	fi

build: deps
	$(SWIFT) build

# The shipped binary: release, Swift runtime linked in, so it runs without the toolchain.
build-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_DIR)

# The daemon in the foreground with the default configuration (Ctrl-C stops it).
run: build
	$(DEBUG_BIN) serve --config config/drum-monitor.yaml --socket $(RUN_SOCKET)

# Every tier this machine can run: unit and real-kernel tests (root: real v1 cgroups), the
# daemon's systemd behaviour, the static binary, real DRUM from PyPI, and the API description.
test: deps build-static test-schema
	venv="$$(Tests/Drum/venv.sh)" || { echo "cannot set up the DRUM venv (Tests/Drum/venv.sh)" >&2; exit 1; }; \
	DRUM_VENV="$$venv" DRUM_MONITOR_STATIC_BIN=$(CURDIR)/$(STATIC_BIN) $(SWIFT) test --no-parallel
	$(MAKE) --no-print-directory test-python

# The Python client (clients/python): unit tier on 3.8/3.11/3.13 + mypy, real DRUM, FastAPI.
test-python: build
	DRUM_MONITOR_BIN=$(CURDIR)/$(DEBUG_BIN) clients/python/tests/run.sh

# The daemon's live answers against api/openapi.yaml (Tests/Schema; a cached Python venv).
test-schema: build-static
	venv="$$(Tests/Schema/venv.sh)" || { echo "cannot set up the schema venv (Tests/Schema/venv.sh)" >&2; exit 1; }; \
	DRUM_MONITOR_BIN=$(CURDIR)/$(STATIC_BIN) "$$venv/bin/python" Tests/Schema/check_api.py

# Only the fast tiers (no DRUM venv, no static build).
test-unit: deps
	$(SWIFT) test --no-parallel

# cgroup v2 and systemd as PID 1, for real, in a QEMU VM (see Tests/System).
system-test: build-static
	Tests/System/system-test.sh

bench: build-static
	DRUM_MONITOR_BIN=$(CURDIR)/$(STATIC_BIN) \
	WINDOW_BENCH_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-window-bench \
	SAMPLER_BENCH_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-sampler-bench \
	STACK_FLOOR_BIN=$(CURDIR)/$(STATIC_DIR)/release/drum-monitor-stack-floor \
	Benchmarks/bench.sh

install: build-static
	install -D -s -m 0755 $(STATIC_BIN) $(DESTDIR)$(PREFIX)/bin/drum-monitor
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/drum-monitor|$(PREFIX)/bin/drum-monitor|; s|/etc/drum-monitor/|$(SYSCONFDIR)/drum-monitor/|; s|/usr/local/share/doc|$(PREFIX)/share/doc|' \
	  systemd/drum-monitor.service > $(DESTDIR)$(UNITDIR)/drum-monitor.service
	sed 's|/usr/local/share/doc|$(PREFIX)/share/doc|' systemd/drum-monitor.socket > $(DESTDIR)$(UNITDIR)/drum-monitor.socket
	chmod 0644 $(DESTDIR)$(UNITDIR)/drum-monitor.service $(DESTDIR)$(UNITDIR)/drum-monitor.socket
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml"; \
	else install -D -m 0644 config/drum-monitor.yaml $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml; fi
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/drum-monitor/README.md
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

uninstall:
	-@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl disable --now drum-monitor.socket drum-monitor.service; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/drum-monitor $(DESTDIR)$(UNITDIR)/drum-monitor.service $(DESTDIR)$(UNITDIR)/drum-monitor.socket
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/drum-monitor
	@echo "left $(DESTDIR)$(SYSCONFDIR)/drum-monitor/drum-monitor.yaml in place (remove it by hand if unwanted)"
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

clean:
	rm -rf .build $(STATIC_DIR)
