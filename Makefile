# seclog.falco_efk: every target sets itself up; nothing relies on what the machine happens to have.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# The collection as Ansible and ansible-test see it: ansible_collections/seclog/falco_efk -> this checkout.
COLLECTIONS := $(CURDIR)/collections
COLL_LINK := $(COLLECTIONS)/ansible_collections/seclog/falco_efk
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export ANSIBLE_ROLES_PATH := $(CURDIR)/roles
export PYTHONDONTWRITEBYTECODE := 1

PROFILE ?= 1.30
NODES ?= gke
STACK ?= 8
KEEP ?= 0

.PHONY: help setup demo test lint yamllint ansible-lint workflows sanity units docs molecule molecule-kind readmes ee bench cluster-up cluster-down build clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): requirements.txt test-requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON))")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r test-requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -c 'import ansible_collections.kubernetes.core, kubernetes, kubernetes_validate, yaml'
	touch $@

$(COLL_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@


setup: $(STAMP) $(COLL_LINK) ## create .venv from PyPI (no-op when done)


# ---------------------------------------------------------------- the local cluster
LC := $(CURDIR)/.localcluster
LOCALCLUSTER := PYTHONPATH=$(CURDIR)/tests $(BIN)/python -m localcluster

cluster-up: setup ## start the local cluster (PROFILE=1.8|1.15|1.30 NODES=gke|small|cos|... STACK=7.17|8)
	$(LOCALCLUSTER) up --dir $(LC) --profile $(PROFILE) --nodes $(NODES) --stack $(STACK)

cluster-down: ## stop the local cluster and everything it started
	@if [ -x $(BIN)/python ]; then $(LOCALCLUSTER) down --dir $(LC); fi

# ---------------------------------------------------------------- demo
demo: setup ## run the whole sequence on the local cluster and print what it did (KEEP=1 leaves it up)
	$(BIN)/python tests/demo.py --dir $(LC) --profile $(PROFILE) --nodes $(NODES) --stack $(STACK) --keep $(KEEP)

# ---------------------------------------------------------------- quality gates
test: setup ## every check, stopping at the first failure
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory units
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory ee
	$(MAKE) --no-print-directory molecule
	@echo "make test: all checks passed"

lint: yamllint ansible-lint workflows ## yamllint, ansible-lint (production profile, offline) and the CI workflow's schema

yamllint: setup
	$(BIN)/yamllint --strict .
	$(BIN)/antsibull-changelog lint

ansible-lint: setup
	$(BIN)/ansible-lint --offline --profile production

# GitHub's workflow schema, as vendored by check-jsonschema (no network).
workflows: setup
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# ansible-test wants the collection at ansible_collections/<ns>/<name>, and fetches a pip
# bootstrap script from a host we cannot reach: give it a copy of the checkout (tracked and
# new files, as a clone would have them) and the bootstrap script it would have downloaded.
# Outside the checkout: inside it, ansible-test would list files with the checkout's git and skip them.
# One per checkout, so two checkouts on a machine do not trample each other.
CHECKOUT_ID := $(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)
SANITY_ROOT := $(or $(TMPDIR),/tmp)/seclog-falco_efk-sanity-$(CHECKOUT_ID)
SANITY_COLL := $(SANITY_ROOT)/ansible_collections/seclog/falco_efk
GET_PIP_CACHE := $(HOME)/.ansible/test/cache
SANITY_PYTHON ?= 3.11

sanity: setup ## ansible-test sanity on a copy of the collection
	mkdir -p $(GET_PIP_CACHE)
	for version in $$($(BIN)/python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; from types import SimpleNamespace as N; print(g(N(version="$(SANITY_PYTHON)"))["pip"])'); do \
	  cp .ci/get_pip.py $(GET_PIP_CACHE)/get_pip_$${version//./_}.py; done
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_COLL)
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf - | tar -xf - -C $(SANITY_COLL)
	# kubernetes.core (a dependency) as ansible-test looks for it: beside the collection.
	mkdir -p $(SANITY_ROOT)/ansible_collections/kubernetes
	ln -sfn $(KUBERNETES_CORE) $(SANITY_ROOT)/ansible_collections/kubernetes/core
	cd $(SANITY_COLL) && $(BIN)/ansible-test sanity --local --python $(SANITY_PYTHON) --color no

# Three workers on two cores: the e2e tests spend about a third of their time waiting on polls and
# readiness, and a third worker fills it (measured: 9 min 14 s against 10 min 18 s with two).
units: setup ## unit tests of plugins and of the local cluster (no tests collected fails)
	$(BIN)/python -m pytest -q -n 3 --durations=25

DOCS_DEPS := $(or $(TMPDIR),/tmp)/seclog-falco_efk-docs-deps-$(CHECKOUT_ID)
KUBERNETES_CORE = $$($(BIN)/python -c 'import ansible_collections.kubernetes.core as c; print(list(c.__path__)[0])')

docs: build ## module and role docs: antsibull-docs lint, and ansible-doc from the built tarball
	# antsibull-docs copies dependencies with git when they sit in a git work tree (our .venv does, ignored):
	# give it a plain copy of kubernetes.core outside the checkout instead, and only that one.
	rm -rf $(DOCS_DEPS) && mkdir -p $(DOCS_DEPS)/ansible_collections/kubernetes
	cp -r $(KUBERNETES_CORE) $(DOCS_DEPS)/ansible_collections/kubernetes/core
	ANSIBLE_COLLECTIONS_PATH=$(DOCS_DEPS) ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	rm -rf tests/output/docs && mkdir -p tests/output/docs
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/tests/output/docs $(BIN)/ansible-galaxy collection install --offline --no-deps --force \
	  -p tests/output/docs tests/output/seclog-falco_efk-*.tar.gz
	for module in $$(ls plugins/modules/*.py 2>/dev/null | xargs -rn1 basename | sed 's/\.py$$//'); do \
	  ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/tests/output/docs $(BIN)/ansible-doc seclog.falco_efk.$$module > /dev/null || exit 1; \
	  echo "ansible-doc seclog.falco_efk.$$module: renders"; done
	for role in $$(ls roles); do \
	  ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/tests/output/docs $(BIN)/ansible-doc -t role seclog.falco_efk.$$role > /dev/null || exit 1; \
	  echo "ansible-doc -t role seclog.falco_efk.$$role: renders"; done

EE_CONTEXT := tests/output/ee/context

ee: build ## the execution environment's build context in tests/output/ee/context (then: podman build -t <image> tests/output/ee/context)
	# A fresh context: ansible-builder keeps old files there, and a second tarball breaks the image's COPY.
	rm -rf tests/output/ee
	$(BIN)/ansible-builder create --file execution-environment.yml --context $(EE_CONTEXT) --output-filename Containerfile
	test -f $(EE_CONTEXT)/_build/collections/seclog-falco_efk-*.tar.gz

readmes: setup ## regenerate the roles' README variable tables and the AWX surveys from the argument specs
	$(BIN)/python tools/role_readme.py
	$(BIN)/python tools/awx_survey.py

build: setup ## the collection tarball, free of generated and local paths
	rm -f tests/output/seclog-falco_efk-*.tar.gz && mkdir -p tests/output
	$(BIN)/ansible-galaxy collection build --force --output-path tests/output .
	@if tar -tzf tests/output/seclog-falco_efk-*.tar.gz | grep -E '(^|/)(\.venv|\.localcluster|\.ansible|collections|tests/output|__pycache__)(/|$$)'; then \
	  echo "build: the tarball holds generated or local paths (above); add them to build_ignore"; exit 1; fi

molecule: setup ## the molecule default scenario on the local cluster, and the kind scenario's syntax
	# Molecule keeps scenario state (e.g. "prepared") under ~/.ansible/tmp across checkouts: start clean.
	cd extensions && $(BIN)/molecule reset -s default && $(BIN)/molecule test -s default
	cd extensions && $(BIN)/molecule syntax -s kind

MOLECULE_DESTROY ?= always
molecule-kind: setup ## the molecule kind scenario on a real kind cluster (needs kind and Docker; KIND_NODE_IMAGE=...)
	cd extensions && $(BIN)/molecule reset -s kind && $(BIN)/molecule test -s kind --destroy $(MOLECULE_DESTROY)

bench: setup ## benchmarks on the local cluster (prints a table, writes bench/results/)
	PYTHONPATH=$(CURDIR)/tests:$(COLLECTIONS) $(BIN)/python -m bench

clean: cluster-down ## remove everything generated (keeps .venv)
	rm -rf tests/output collections .ansible
