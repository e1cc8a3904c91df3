# lstm-lit: `make book` builds the HTML book, `make test` runs every check.
# Both create .venv and install the pinned requirements on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUILD  := _build
JB_FLAGS := -W -n --keep-going

.PHONY: help install book test unit export check-export nbval book-strict execute clean mathjax browser browser-deps

help:
	@echo "make book          set up .venv and build the HTML book into $(BUILD)/html"
	@echo "make test          set up .venv and run every check (unit, export sync, nbval, strict book build, browser, both editions)"
	@echo "make browser       open every page of the built book in headless Chromium (screenshots in $(BUILD)/screenshots)"
	@echo "make mathjax       fetch MathJax 3 from npm into _mathjax/ (the book serves it: equations typeset offline)"
	@echo "make nbval         re-execute every notebook and compare with its stored outputs, under several CPUs' kernels"
	@echo "make export        regenerate lstm_lit/ from the notebooks' '#| export' cells"
	@echo "make execute       re-execute notebooks in place (NB=notebooks/04_rnn.ipynb for one)"
	@echo "make clean         remove build outputs (keeps .venv)"
	@echo "make book-nosolutions  the book without the exercises' solutions, into $(BUILD)/html-nosolutions, browser-checked"
	@echo "make workbook      every chapter as a workbook (exported function bodies stubbed) in $(BUILD)/workbooks"

$(STAMP): requirements.txt requirements-data.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-data.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

export: install
	$(VENV)/bin/nbdev-export

check-export: install
	$(PY) tools/check_export.py

execute: install
	$(PY) tools/execute_notebooks.py $(NB)

# One BLAS thread: the tests' matrices are small, and threads only add overhead to them.
unit: install
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q tests

# nbval strict under this CPU's own kernels, then under an AVX2 CPU's and an AVX CPU's (OpenBLAS and NumPy's
# SIMD loops both forced): stored outputs must be what any reader's CPU prints. NB=... for some notebooks,
# KERNELS=own (or haswell, sandybridge) for one configuration.
nbval: install
	$(PY) tools/run_nbval.py $(if $(KERNELS),--only $(KERNELS)) $(NB)

# MathJax 3.2.2 from npm, published with the book (html_extra_path): equations typeset with no network.
# Fetched once (needs npm and the npm registry), then reused; not committed (.gitignore).
mathjax:
	$(PYTHON) tools/fetch_mathjax.py

# The strict build: every warning is an error, from a clean build folder.
book-strict: install mathjax
	rm -rf $(BUILD)
	$(PY) tools/make_workbook.py --out $(BUILD)/workbooks
	$(VENV)/bin/jupyter-book build $(JB_FLAGS) .

book: book-strict
	@echo "The book is built: open file://$(CURDIR)/$(BUILD)/html/index.html"

# Headless Chromium for the browser test: Debian's package, installed when missing and we are root.
browser-deps: install
	@if found=$$($(PY) tools/browser_check.py --find-browser 2>/dev/null); then \
	  echo "browser: $$found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: installing Debian's chromium (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "WARNING: apt-get install chromium failed: the browser test will SKIP"; \
	else \
	  echo "WARNING: no Chromium/Chrome, and not root with apt-get to install it: the browser test will SKIP"; \
	fi

# Every page of the built book in headless Chromium (tests/browser/, not part of `make unit`).
browser: install browser-deps
	LSTM_LIT_BROWSER=1 $(PY) -m pytest -q -s -rs tests/browser

test: install
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory unit && \
	$(MAKE) --no-print-directory check-export && \
	$(MAKE) --no-print-directory nbval && \
	$(MAKE) --no-print-directory book-strict && \
	$(MAKE) --no-print-directory browser && \
	$(MAKE) --no-print-directory book-nosolutions && \
	echo "make test: all checks passed in $$(( $$(date +%s) - $$start )) s"

clean:
	rm -rf $(BUILD) lstm_lit.egg-info

# Workbooks: each chapter with its exported functions' bodies replaced by stubs that raise
# NotImplementedError; the chapter's own checks grade the learner's code (tests/test_workbooks.py).
.PHONY: workbook
workbook: install
	$(PY) tools/make_workbook.py --out $(BUILD)/workbooks

# The edition for teachers who assign the exercises: _config.yml plus sphinx-exercise's hide_solutions
# and book/_ext/lstm_lit_nosolutions.py (gated solutions and their code cells removed too), strict,
# then every page of it in headless Chromium, as `make browser` does for the default edition.
.PHONY: book-nosolutions
book-nosolutions: install mathjax browser-deps
	$(PY) tools/book_nosolutions.py
	@if $(PY) tools/browser_check.py --find-browser >/dev/null 2>&1; then \
	  $(PY) tools/browser_check.py $(BUILD)/html-nosolutions --no-screenshots; \
	else \
	  echo "WARNING: no Chromium/Chrome: the browser check of this edition SKIPS"; \
	fi
