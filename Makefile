# Two commands for a new user (see README.md):
#   make lab    set everything up, then open JupyterLab on the course (simulator, no Docker)
#   make test   set everything up, then run every test (unit, contract, notebooks)
# Set-up is done once: a second run finds .venv up to date and installs nothing.
# Authors (docs/AUTHORING.md): notebooks are written as MyST Markdown (*.md);
#   make notebooks                      build every .ipynb and exercises/ from them
#   make lesson NN=07 SLUG=deployments  start a new lesson and its exercise

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labsupport-installed
PORT   ?= 8888
PYTEST_ARGS ?=

.PHONY: setup lab test test-kind bench lint clean notebooks exercises lesson

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=$(CURDIR) $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-kind: $(STAMP)
	$(BIN)/python -m pytest -m kind tests

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check labsupport

# NOTEBOOKS_ARGS: e.g. --no-cache (run again even if nothing changed), --check, a source path.
notebooks: $(STAMP)
	$(BIN)/python -m labsupport.authoring build $(NOTEBOOKS_ARGS)

# exercises/ is one step of `make notebooks`; the old name still works.
exercises: notebooks

lesson: $(STAMP)
	@test -n "$(NN)" -a -n "$(SLUG)" || { echo "usage: make lesson NN=07 SLUG=deployments [TITLE='Deployments']"; exit 2; }
	$(BIN)/python -m labsupport.authoring new $(NN) $(SLUG) $(if $(TITLE),--title "$(TITLE)",)

clean:
	rm -rf $(VENV) .pytest_cache
