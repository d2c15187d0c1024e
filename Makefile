# Kehu — developer and operator shortcuts. Everything runs from the virtualenv in .venv.
#   make run    install, load the demo data the first time, serve on http://127.0.0.1:8000/
#   make test   install with the dev tools, run the test suite (PYTEST_ARGS=... to narrow it)

# The first of these that is Python 3.11 or newer (override: make run PYTHON=/path/to/python3.12).
PYTHON ?= $(shell for p in python3 python3.14 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
KEHU_DATA_DIR ?= var
DATA_DIR := $(abspath $(KEHU_DATA_DIR))
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test lint bench bench-full bench-smoke assets messages clean

help:
	@echo "make run       install, load demo data the first time, serve on http://$(HOST):$(PORT)/ (HOST=, PORT=)"
	@echo "make test      run the tests on SQLite (and PostgreSQL with KEHU_TEST_DATABASE_URL); PYTEST_ARGS=..."
	@echo "make lint      ruff check, ruff format --check, mypy"
	@echo "make bench     the benchmark suite at medium scale (100,000 customers; bench-full: 1,000,000)"
	@echo "make assets    re-vendor the browser assets from package.json (needs Node and npm)"
	@echo "make messages  update and compile the translations in src/kehu/locale"
	@echo "make clean     remove the virtualenv and caches (keeps the data in $(KEHU_DATA_DIR)/)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Kehu needs Python 3.11 or newer, and none was found (tried python3, python3.11 … python3.14)." >&2; \
		echo "Install one, or point to it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Kehu needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Point to a newer one: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV); on Debian/Ubuntu install the venv module: apt-get install python3-venv" >&2; exit 1; }

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	@if [ -f "$(DATA_DIR)/.demo-loaded" ]; then \
		KEHU_DATA_DIR="$(DATA_DIR)" $(BIN)/kehu init --no-input; \
	else \
		KEHU_DATA_DIR="$(DATA_DIR)" $(BIN)/kehu demo --url "http://$(HOST):$(PORT)/"; \
	fi
	KEHU_DATA_DIR="$(DATA_DIR)" exec $(BIN)/kehu run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# The benchmark suite (benchmarks/README.md): data generated on the first run of a scale into
# var/bench/<scale> and reused; results in benchmarks/results/. BENCH_ARGS=... passes options.
BENCH_ARGS ?=
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py --scale medium $(BENCH_ARGS)

bench-full: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py --scale large $(BENCH_ARGS)

# What CI runs: the small scale, few runs, to prove the suite works (its figures mean little).
bench-smoke: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py --scale small --runs 3 --http-seconds 1 --import-rows 1000 --no-write $(BENCH_ARGS)

assets:
	npm ci
	npm run vendor

# Translations: extract from the code and templates into src/kehu/locale/zh_Hans, then compile.
messages: $(VENV)/.installed-dev
	@mkdir -p src/kehu/locale
	cd src/kehu && KEHU_DATA_DIR="$(DATA_DIR)" ../../$(BIN)/kehu makemessages -l zh_Hans --no-obsolete \
		--no-location --ignore 'static/*'
	cd src/kehu && KEHU_DATA_DIR="$(DATA_DIR)" ../../$(BIN)/kehu compilemessages --ignore 'static/*'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info test-results
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +
