# geomlayers developer / CI entry points.
#
#   make venv   create .venv (torch 2.13.0 CPU first, then the package with all extras)
#   make test   run the test suite, then build the docs (warnings are errors)
#   make docs   build the Sphinx site into docs/_build/html (warnings are errors)
#   make demo   run python -m geomlayers.demo
#   make lint   ruff check
#   make bench  run benchmarks/run_all.py (every benchmark, then benchmarks/RESULTS.md)
#   make results  regenerate benchmarks/RESULTS.md from benchmarks/results/*.json
#
# The recipe (see requirements/constraints.txt for the why): torch==2.13.0 is installed
# FIRST (the CPU build); everything else is then resolved under the constraints file, which
# also pins torch so pip can never swap in another (CUDA) build.  numpy stays < 2 because
# escnn's lie_learn dependency ships numpy-1.x binaries.

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         ?= .venv
PY           := $(VENV)/bin/python
PIP          := $(PY) -m pip
TORCH_PIN    := torch==2.13.0
CONSTRAINTS  := requirements/constraints.txt
EXTRAS       ?= test,escnn,spd,graphs,docs
STAMP        := $(VENV)/.geomlayers-installed
PYTEST_ARGS  ?=
# drop pip's "Location '...' is ignored" warnings about absent local indexes (machine config noise)
PIPNOISE     := 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)

.PHONY: venv test docs demo lint bench results clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS) Makefile
	@# py3nj (escnn's fast Clebsch-Gordan backend) compiles Fortran: get gfortran if we can.
	@if ! command -v gfortran >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> gfortran missing: installing it with apt-get (needed to build py3nj)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gfortran >/dev/null; } \
	      || echo ">> warning: could not install gfortran; py3nj may fail to build"; \
	  else \
	    echo ">> warning: gfortran missing and not root; py3nj may fail to build"; \
	  fi; \
	fi
	@test -x $(PY) || { echo ">> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PIP) install -q $(TORCH_PIN) $(PIPNOISE)
	@# py3nj is required, not optional: without it escnn falls back to a numerical Clebsch-Gordan
	@# solver that passes np.matrix to sklearn's randomized_svd, which scikit-learn 1.9 rejects
	@# (TypeError), so SO(3)/O(3) tensor-product decompositions would fail.
	$(PIP) install -q -c $(CONSTRAINTS) -e '.[$(EXTRAS)]' $(PIPNOISE) || { \
	  echo ">> install failed. If py3nj failed to build, install a Fortran compiler"; \
	  echo ">> (Debian/Ubuntu: apt-get install -y gfortran) and run 'make venv' again."; \
	  exit 1; }
	@$(PY) -c "import torch, numpy; v = torch.__version__; \
	assert v.split('+')[0] == '2.13.0', 'torch was replaced: ' + v; \
	print('>> venv ready: torch', v, '| numpy', numpy.__version__)"
	@touch $(STAMP)

test: venv
	GEOMLAYERS_REQUIRE_CPP=1 $(PY) -m pytest -q $(PYTEST_ARGS)
	$(MAKE) docs

docs: venv
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

demo: venv
	$(PY) -m geomlayers.demo
	$(PY) -m geomlayers.eeg_demo

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) benchmarks/run_all.py

results:
	$(PYTHON) benchmarks/make_results.py

clean-venv:
	rm -rf $(VENV)
