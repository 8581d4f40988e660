# sovereign.vm_backup — set-up, the local lab, tests and benchmarks.
#   make demo   set everything up, start the lab, run playbooks/demo.yml against it, stop the lab
#   make test   set everything up and run every test (unit, emulator, integration, sanity, lint)
#   make lab    start the lab in the background and print its `export` lines; `make lab-stop` stops it
#   make bench  run the benchmarks in tests/perf
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT        := $(CURDIR)
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
BIN         := $(VENV)/bin
PYTHON      ?= python3
LAB_DIR     := $(ROOT)/.lab
VCSIM       := $(LAB_DIR)/bin/vcsim
COLLECTIONS := $(ROOT)/.build/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/sovereign/vm_backup
SANITY_DIR  := $(ROOT)/.build/sanity/ansible_collections/sovereign/vm_backup
GOPATH_DEB  := /usr/share/gocode
APT_PKGS    := golang-go golang-github-vmware-govmomi-dev git chromium chromium-driver
GET_PIP     := $(HOME)/.ansible/test/cache/get_pip_24_2.py
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(BIN):$(PATH)

.PHONY: help setup apt venv vcsim collection lab lab-stop demo test units emulator-tests integration molecule sanity \
        lint changelog-lint bench peer-venv clean

help:
	@sed -n '2,6p' Makefile | sed 's/^# *//'

# ---------------------------------------------------------------------------------------------------------------
# Set-up (idempotent)
setup: apt venv vcsim collection

apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "These Debian packages are missing:$$missing. Run as root, or: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

vcsim: $(VCSIM)

$(VCSIM): tests/emulators/vcsim/main.go | apt
	@mkdir -p $(dir $@) $(ROOT)/.cache/go
	GO111MODULE=off GOPATH=$(GOPATH_DEB) GOCACHE=$(ROOT)/.cache/go go build -o $@ $<

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn ../../../.. $(COLL_LINK)

# ---------------------------------------------------------------------------------------------------------------
# The lab
lab: setup
	@$(PY) tests/lab/lab.py start --dir $(LAB_DIR)
	@echo "# The lab runs in the background; paste the lines above into your shell. Stop it with: make lab-stop"

lab-stop:
	@test ! -x $(PY) || $(PY) tests/lab/lab.py stop --dir $(LAB_DIR)

demo: setup
	@$(PY) tests/lab/lab.py start --dir $(LAB_DIR) >/dev/null
	@set -a; source $(LAB_DIR)/env; set +a; \
	  $(BIN)/ansible-playbook playbooks/demo.yml --diff; status=$$?; \
	  $(PY) tests/lab/lab.py stop --dir $(LAB_DIR); exit $$status

# ---------------------------------------------------------------------------------------------------------------
# Tests
test: setup
	@$(MAKE) --no-print-directory units emulator-tests integration molecule sanity lint changelog-lint

units:
	$(PY) -m pytest tests/unit -q -p no:cacheprovider $(PYTEST_ARGS)

# Each xdist worker starts a lab of its own, so the lab-backed suites run two at a time on two cores. Tests marked
# with an xdist_group (a module that builds a lab of its own) stay on one worker (--dist loadgroup).
emulator-tests:
	$(PY) -m pytest tests/emulator -q -p no:cacheprovider -n 2 $(PYTEST_ARGS)

integration:
	SOVEREIGN_REQUIRE_BROWSER=1 $(PY) -m pytest tests/integration -q -p no:cacheprovider -n 2 --dist loadgroup $(PYTEST_ARGS)

# Molecule scenarios (extensions/molecule/<role>) run against one lab, like a real vCenter and SPP: their create and
# destroy steps have nothing to provision. With SPP_URL and VMWARE_HOST set, they run against those servers instead.
MOLECULE_LAB := $(ROOT)/.lab-molecule
MOLECULE_SCENARIOS = $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))
molecule:
	@if [ -z "$(MOLECULE_SCENARIOS)" ]; then echo "no molecule scenario"; exit 0; fi; \
	if [ -n "$$SPP_URL" ] && [ -n "$$VMWARE_HOST" ]; then started=""; else \
	  $(PY) tests/lab/lab.py start --dir $(MOLECULE_LAB) >/dev/null || exit 1; started=1; \
	  set -a; source $(MOLECULE_LAB)/env; set +a; fi; \
	status=0; for scenario in $(MOLECULE_SCENARIOS); do \
	  (cd extensions && $(BIN)/molecule test -s $$scenario) || { status=1; break; }; done; \
	[ -z "$$started" ] || $(PY) tests/lab/lab.py stop --dir $(MOLECULE_LAB); exit $$status

$(GET_PIP): tests/sanity/get_pip_offline.py
	@mkdir -p $(dir $@)
	@cp $< $@

sanity: $(GET_PIP)
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C $(SANITY_DIR)
	@# A repository of its own, so that ansible-test lists the copy's files rather than the enclosing checkout's.
	@cd $(SANITY_DIR) && git init -q && git add -A
	cd $(SANITY_DIR) && $(BIN)/ansible-test sanity --local --python 3.11 --color no

lint:
	$(BIN)/ansible-lint --offline

changelog-lint:
	$(BIN)/antsibull-changelog lint

# The benchmarks' peer (community.vmware from the `ansible` community bundle) lives in a venv of its own, so that
# neither its ansible-core nor its collections mix with the project's. `make bench BENCH_ARGS="--only inventory"`
# runs one section.
PEER_VENV  := $(ROOT)/.venv-peer
BENCH_ARGS ?=

peer-venv: $(PEER_VENV)/.installed

$(PEER_VENV)/.installed: tests/perf/requirements-peer.txt
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install -q -r $<
	@touch $@

bench: setup peer-venv
	$(PY) tests/perf/run.py $(BENCH_ARGS)

clean: lab-stop
	rm -rf .build .cache tests/output
