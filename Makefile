# lstm-lit: `make book` builds the HTML book, `make test` runs every check.
# Both create .venv and install the pinned requirements on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUILD  := _build
JB_FLAGS := -W -n --keep-going

.PHONY: help install book test unit export check-export nbval book-strict execute clean

help:
	@echo "make book          set up .venv and build the HTML book into $(BUILD)/html"
	@echo "make test          set up .venv and run every check (unit, export sync, nbval, strict book build)"
	@echo "make export        regenerate lstm_lit/ from the notebooks' '#| export' cells"
	@echo "make execute       re-execute notebooks in place (NB=notebooks/04_rnn.ipynb for one)"
	@echo "make clean         remove build outputs (keeps .venv)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

export: install
	$(VENV)/bin/nbdev-export

check-export: install
	$(PY) tools/check_export.py

execute: install
	$(PY) tools/execute_notebooks.py $(NB)

unit: install
	$(PY) -m pytest -q tests

nbval: install
	$(PY) -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg notebooks

# The strict build: every warning is an error, from a clean build folder.
book-strict: install
	rm -rf $(BUILD)
	$(VENV)/bin/jupyter-book build $(JB_FLAGS) .

book: book-strict
	@echo "The book is built: open file://$(CURDIR)/$(BUILD)/html/index.html"

test: install
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory unit && \
	$(MAKE) --no-print-directory check-export && \
	$(MAKE) --no-print-directory nbval && \
	$(MAKE) --no-print-directory book-strict && \
	echo "make test: all checks passed in $$(( $$(date +%s) - $$start )) s"

clean:
	rm -rf $(BUILD) lstm_lit.egg-info
