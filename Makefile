# sovereign.vm_backup — set-up, the local lab, tests and benchmarks.
#   make demo   set everything up, start the lab, run playbooks/demo.yml against it, stop the lab
#   make test   set everything up and run every test once (sanity, lint, unit, emulator, integration, molecule)
#   make test-variants  the same tests again under the public-record profile and the ansible-core matrix (CI runs it)
#   make lab    start the lab in the background and print its `export` lines; `make lab-stop` stops it
#   make bench  run the benchmarks in tests/perf
#   make matrix run unit, sanity and smoke tests under the oldest and newest ansible-core that the collection claims
#   make lock   regenerate the locked dependency sets (requirements-dev.lock, tests/matrix/*.lock)
#   make build  build the collection tarball into .build/dist
#   make test-latest  run `make test` in .venv-latest, with the newest of everything (unlocked): shows drift early
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
PYTEST_ARGS ?=
# The development toolchain is installed from a lock with hashes, so that a fresh machine gets what CI tested;
# `make lock` refreshes it with uv. INSTALL_FROM=ranges (used by `make test-latest`) takes the newest of everything.
LOCK        := requirements-dev.lock
INSTALL_FROM ?= lock
UV_VERSION  := 0.13.9
UV          := $(ROOT)/.build/uv/bin/uv

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(BIN):$(PATH)

.PHONY: help setup apt venv vcsim collection lab lab-stop demo test test-variants test-latest units emulator-tests \
        integration molecule sanity lint changelog-lint bench peer-venv lock matrix matrix-edge smoke build clean

help:
	@sed -n '2,10p' Makefile | sed 's/^# *//'

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

ifeq ($(INSTALL_FROM),ranges)
$(VENV)/.installed: FORCE
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --upgrade --upgrade-strategy eager -r requirements-dev.txt
	@touch $@
else
$(VENV)/.installed: $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	@touch $@
endif

FORCE:

# uv resolves for a target Python without installing it, so one machine writes the locks of every edge.
$(UV):
	@$(PYTHON) -m venv $(ROOT)/.build/uv
	$(ROOT)/.build/uv/bin/python -m pip install -q uv==$(UV_VERSION)

UV_COMPILE = $(UV) pip compile -q --generate-hashes --upgrade --custom-compile-command "make lock"
lock: $(UV)
	$(UV_COMPILE) --python-version 3.11 -o $(LOCK) requirements-dev.txt
	$(UV_COMPILE) --python-version 3.11 -o tests/matrix/oldest.lock tests/matrix/oldest.in
	$(UV_COMPILE) --python-version 3.12 -o tests/matrix/newest.lock tests/matrix/newest.in

vcsim: $(VCSIM)

$(VCSIM): $(wildcard tests/emulators/vcsim/*.go) | apt
	@mkdir -p $(dir $@) $(ROOT)/.cache/go
	GO111MODULE=off GOPATH=$(GOPATH_DEB) GOCACHE=$(ROOT)/.cache/go go build -o $@ ./tests/emulators/vcsim

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
# Every test once, with the locked toolchain and the emulator's default profile. The static checks first: they take
# minutes, the lab tests take many more. Each stage prints how long it took.
TEST_STAGES     := sanity lint changelog-lint units emulator-tests integration molecule
# The same tests again in the other settings the collection claims: the SPP emulator's public-record profile, and the
# oldest and newest ansible-core. They add no test of their own, and about 11 minutes on two cores; CI runs them after
# `make test` (.ci/run), so that `make test` stays the everyday loop.
VARIANT_STAGES  := public-record matrix
STAGED = for stage in $(1); do started=$$(date +%s); $(MAKE) --no-print-directory $$stage || exit 1; \
	  echo "== make $$stage: $$(( $$(date +%s) - started )) s"; done

test: setup
	@$(call STAGED,$(TEST_STAGES))

test-variants: setup
	@$(call STAGED,$(VARIANT_STAGES))

# Not in CI: the newest release of everything that requirements-dev.txt allows, so that a third party's new release
# breaks this target before it breaks a fresh machine (then fix, and `make lock`).
test-latest:
	@$(MAKE) --no-print-directory test VENV=$(ROOT)/.venv-latest INSTALL_FROM=ranges

units:
	$(PY) -m pytest tests/unit -q -p no:cacheprovider $(PYTEST_ARGS)

# Each xdist worker starts a lab of its own. Tests marked with an xdist_group (a module that builds a lab of its own)
# stay on one worker (--dist loadgroup). The integration tests often wait (a restore's session, a 60-second search
# after a lost answer), so three workers keep both cores busy: 20 minutes instead of 24 with two, on the same tree.
LAB_WORKERS ?= 3
emulator-tests:
	$(PY) -m pytest tests/emulator -q -p no:cacheprovider -n 2 $(PYTEST_ARGS)

integration:
	SOVEREIGN_REQUIRE_BROWSER=1 $(PY) -m pytest tests/integration -q -p no:cacheprovider -n $(LAB_WORKERS) \
	  --dist loadgroup $(PYTEST_ARGS)

# The public-record profile of the SPP emulator (spp-api.md 14.17) answers only what IBM's public code shows, and
# strictly. `make test-variants` runs under it the integration tests of vm_restore (every mode and state), vm_backup_run,
# vm_backup_policy, backup_sla_policy, backup_inventory, vm_powerstate and the inventory plugin, and the molecule
# scenarios of the three restore roles; `make integration SPP_EMULATOR_PROFILE=public-record` runs the whole suite
# under it. The emulator's own contract tests pin both profiles in every run.
PUBLIC_RECORD_TESTS := tests/integration/test_restore.py tests/integration/test_roles.py \
  tests/integration/test_vm_backup_run.py tests/integration/test_policies.py tests/integration/test_backup_inventory.py \
  tests/integration/test_vm_powerstate.py tests/integration/test_inventory_plugin.py
public-record:
	SPP_EMULATOR_PROFILE=public-record $(PY) -m pytest $(PUBLIC_RECORD_TESTS) -q -p no:cacheprovider -n $(LAB_WORKERS) \
	  --dist loadgroup $(PYTEST_ARGS)
	@SPP_EMULATOR_PROFILE=public-record $(MAKE) --no-print-directory molecule \
	  MOLECULE_SCENARIOS="restore_test restore_clone restore_production" MOLECULE_LAB=$(ROOT)/.lab-molecule-public

# Molecule scenarios (extensions/molecule/<role>) run against one lab, like a real vCenter and SPP: their create and
# destroy steps have nothing to provision. With SPP_URL and VMWARE_HOST set, they run against those servers instead.
MOLECULE_LAB := $(ROOT)/.lab-molecule
MOLECULE_SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))
molecule:
	@if [ -z "$(MOLECULE_SCENARIOS)" ]; then echo "no molecule scenario"; exit 0; fi; \
	if [ -n "$$SPP_URL" ] && [ -n "$$VMWARE_HOST" ]; then started=""; else \
	  $(PY) tests/lab/lab.py start --dir $(MOLECULE_LAB) >/dev/null || exit 1; started=1; \
	  set -a; source $(MOLECULE_LAB)/env; set +a; fi; \
	status=0; for scenario in $(MOLECULE_SCENARIOS); do \
	  (cd extensions && $(BIN)/molecule test -s $$scenario) || { status=1; break; }; done; \
	[ -z "$$started" ] || $(PY) tests/lab/lab.py stop --dir $(MOLECULE_LAB); exit $$status

# ansible-test runs on the venv's own Python, whichever edge of the matrix that venv is.
sanity:
	@$(PY) tests/sanity/place_get_pip.py
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C $(SANITY_DIR)
	@# A repository of its own, so that ansible-test lists the copy's files rather than the enclosing checkout's.
	@cd $(SANITY_DIR) && git init -q && git add -A
	cd $(SANITY_DIR) && $(BIN)/ansible-test sanity --local --color no \
	  --python $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

lint:
	$(BIN)/ansible-lint --offline

changelog-lint:
	$(BIN)/antsibull-changelog lint

# ---------------------------------------------------------------------------------------------------------------
# The support matrix: the oldest and the newest ansible-core that meta/runtime.yml claims, each in a venv of its own
# built from tests/matrix/<edge>.lock, run the unit tests, sanity, and the integration tests marked `smoke`.
# ansible-core 2.20 and later need Python 3.12: the newest edge takes pyenv's 3.12 unless PYTHON_newest says otherwise.
MATRIX_DIR    := $(ROOT)/.venv-matrix
MATRIX_EDGES  := oldest newest
PYTHON_oldest ?= $(PYTHON)
PYTHON_newest ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))

matrix: apt vcsim collection
	@for edge in $(MATRIX_EDGES); do $(MAKE) --no-print-directory matrix-edge EDGE=$$edge || exit 1; done
	@for edge in $(MATRIX_EDGES); do echo "MATRIX $$edge: $$(cat $(MATRIX_DIR)/$$edge/.versions): passed"; done

$(MATRIX_DIR)/%/.installed: tests/matrix/%.lock
	@test -n "$(PYTHON_$*)" || { echo "no Python for the $* edge of the matrix: set PYTHON_$*" >&2; exit 1; }
	@test -x $(MATRIX_DIR)/$*/bin/python || $(PYTHON_$*) -m venv $(MATRIX_DIR)/$*
	$(MATRIX_DIR)/$*/bin/python -m pip install -q --require-hashes --no-deps -r $<
	@$(MATRIX_DIR)/$*/bin/python -c 'import sys, ansible; print("ansible-core %s on Python %d.%d.%d" \
	  % ((ansible.__version__,) + sys.version_info[:3]))' > $(MATRIX_DIR)/$*/.versions
	@touch $@

matrix-edge: $(MATRIX_DIR)/$(EDGE)/.installed
	@echo "MATRIX $(EDGE): $$(cat $(MATRIX_DIR)/$(EDGE)/.versions)"
	@$(MAKE) --no-print-directory units sanity smoke VENV=$(MATRIX_DIR)/$(EDGE)

smoke:
	$(PY) -m pytest tests/integration -m smoke -q -p no:cacheprovider -n 2 --dist loadgroup $(PYTEST_ARGS)

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

# The tarball that users install (galaxy.yml's build_ignore keeps the lab, the tests and the build outputs out).
build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(ROOT)/.build/dist $(ROOT)

clean: lab-stop
	rm -rf .build .cache tests/output
