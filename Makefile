# smbsweep developer targets. `make help` lists them.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
BIN         := bin/smbsweep
VERSION     := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      := $(shell git rev-parse --short HEAD 2>/dev/null || true)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Each fuzz target runs this long in `make fuzz`.
FUZZ_TIME   ?= 10s
# staticcheck 2026.2.2; the proxy knows it only by its semver tag.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages `make fuzz` looks at (narrow it to fuzz one: FUZZ_PKGS=./wire/smb1).
FUZZ_PKGS   ?= ./...
# Packages that hold codecs and must each have at least one Fuzz target.
FUZZ_REQUIRED ?= ./wire/...

.PHONY: help build samba promtool demo test fuzz bench lint goldens clean

# promtool checks the shipped alert rules in `make test`. It comes from Debian's prometheus
# package, unpacked into .cache without installing (or starting) a Prometheus server; without
# it the test validates the rules in Go only.
PROMTOOL_DIR := .cache/promtool
PROMTOOL     := $(PROMTOOL_DIR)/usr/bin/promtool

help: ## list the targets
	@grep -E '^[a-z][a-z_-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/smbsweep with version information
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/smbsweep

# policy-rc.d keeps the package from starting a system smbd on 0.0.0.0:445,
# which would take port 445 from the test fleets.
samba: ## install Samba, smbclient and python3-impacket when missing (Debian, as root)
	@if command -v smbd >/dev/null 2>&1 || [ -x /usr/sbin/smbd ]; then \
		echo "samba: $$( (command -v smbd || echo /usr/sbin/smbd) ) present"; \
	else \
		echo "samba: installing samba and smbclient"; \
		export DEBIAN_FRONTEND=noninteractive; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
			trap 'rm -f /usr/sbin/policy-rc.d' EXIT; \
		fi; \
		apt-get update && apt-get install -y samba smbclient; \
	fi
	@if ! command -v smbclient >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; apt-get update && apt-get install -y smbclient; \
	fi
	@if ! /usr/bin/python3 -c 'import impacket.smbconnection' >/dev/null 2>&1; then \
		echo "samba: installing python3-impacket (the independent SMB client the tests compare with)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y python3-impacket >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y python3-impacket; } || \
		echo "samba: python3-impacket not available: the impacket comparisons skip, saying so"; \
	fi

demo: samba build ## start the Samba fleet on loopback and sweep it with bin/smbsweep
	$(GO) run ./tools/smbfleet -- ./$(BIN) scan -stats -timeout 3s {targets}

promtool: ## unpack promtool from Debian's prometheus package into .cache (best effort)
	@if command -v promtool >/dev/null 2>&1 || [ -x $(PROMTOOL) ]; then exit 0; fi; \
	mkdir -p $(PROMTOOL_DIR) && cd $(PROMTOOL_DIR) && \
	{ apt-get download prometheus >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; } && \
	dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb && echo "promtool: $$(./usr/bin/promtool --version 2>&1 | head -1)" || \
	echo "promtool: not available; alert rules are validated in Go only"

test: samba promtool ## unit and integration tests against real Samba (race detector on)
	SMBSWEEP_REQUIRE_SAMBA=1 SMBSWEEP_PROMTOOL="$$(command -v promtool || { [ -x $(PROMTOOL) ] && echo $(CURDIR)/$(PROMTOOL); } || true)" \
		$(GO) test -race -count=1 ./...

# A target that fails with a bare "context deadline exceeded" and writes no
# crasher hit the -fuzztime shutdown race of Go's fuzz coordinator
# (golang/go#75804, fixed in Go 1.27): it is retried once, then counted as a
# flake. Any other failure, or a new file under testdata/fuzz/, fails.
fuzz: ## run every Fuzz* target of every package for FUZZ_TIME each
	@required="$$($(GO) list $(FUZZ_REQUIRED))"; \
	failed=0; flaked=0; total=0; log="$$(mktemp)"; trap 'rm -f "$$log"' EXIT; \
	for pkg in $$($(GO) list $(FUZZ_PKGS)); do \
		if ! listing="$$($(GO) test -list '^Fuzz' "$$pkg" 2>&1)"; then \
			echo "fuzz: cannot list the tests of $$pkg:"; echo "$$listing"; failed=1; continue; \
		fi; \
		targets="$$(grep -E '^Fuzz' <<<"$$listing" || true)"; \
		if [ -z "$$targets" ]; then \
			if grep -qxF "$$pkg" <<<"$$required"; then \
				echo "fuzz: $$pkg has no Fuzz target (every codec package needs one)"; failed=1; \
			fi; \
			continue; \
		fi; \
		dir="$$($(GO) list -f '{{.Dir}}' "$$pkg")"; \
		for t in $$targets; do \
			total=$$((total + 1)); \
			for attempt in 1 2; do \
				before="$$(ls "$$dir/testdata/fuzz/$$t" 2>/dev/null || true)"; \
				echo "fuzz: $$pkg $$t ($(FUZZ_TIME))"; \
				if $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) "$$pkg" 2>&1 | tee "$$log"; then \
					break; \
				fi; \
				after="$$(ls "$$dir/testdata/fuzz/$$t" 2>/dev/null || true)"; \
				if [ "$$before" = "$$after" ] && grep -q 'context deadline exceeded' "$$log"; then \
					if [ "$$attempt" -eq 1 ]; then \
						echo "fuzz: $$t: deadline race of the fuzz coordinator (golang/go#75804), no crasher; retrying"; \
						continue; \
					fi; \
					echo "fuzz: FLAKE $$pkg $$t (golang/go#75804 twice, no crasher)"; flaked=$$((flaked + 1)); \
					break; \
				fi; \
				echo "fuzz: FAIL $$pkg $$t"; failed=1; \
				break; \
			done; \
		done; \
	done; \
	echo "fuzz: ran $$total targets ($$flaked flaked on golang/go#75804)"; \
	[ "$$total" -gt 0 ] && [ "$$failed" -eq 0 ]

bench: ## codec micro-benchmarks (bench.txt), then a replay-responder sweep of 256 and 4 096 hosts (root; docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./wire/... ./scanner/... ./output/... | tee bench.txt
	$(GO) run ./tools/benchsweep -target replay -n 256,4096 -results bench-results.jsonl

lint: ## gofmt, go mod tidy (no diff), go vet and staticcheck
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting:"; echo "$$unformatted"; exit 1; fi
	@if ! tidy="$$($(GO) mod tidy -diff 2>&1)"; then \
		echo "go.mod/go.sum are not tidy (run go mod tidy and commit the result):"; echo "$$tidy"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Every capture-tagged TestCapture* test (probes, wire, wire/smb1, wire/dcerpc, wire/ntlmssp)
# starts its own Samba servers with internal/testing/sambatest and rewrites its golden files; then git
# lists the testdata that changed. The pattern is anchored so that tests merely named after
# captures (TestCapturesMatchGoldens, TestWindowsCapture*) do not run alongside the rewrite.
goldens: samba ## capture golden files from real Samba, then list the testdata that changed
	SMBSWEEP_REQUIRE_SAMBA=1 $(GO) test -tags capture -count=1 -run '^TestCapture[A-Z]' ./...
	@echo "goldens: testdata changed since the last commit:"; git status --short -- '*testdata*'

clean: ## remove build output and test artefacts
	rm -rf bin/ bench.txt coverage.out coverage.html
	$(GO) clean -testcache
