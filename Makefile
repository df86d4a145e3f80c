# The two set-up commands: `make demo` and `make test`. Both create the project
# virtualenv on first use, so a fresh machine needs only Python 3.11; `make test`
# also installs Debian's chromium (for the dashboard test) when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for `make test` (CI has 2 CPUs): three, as many tests spend their
# time waiting on subprocesses (pipenv, pip, pipfleet runs) and servers; on 2 CPUs with
# little else running, 1,214 tests took 6m38s with -n 3 and 7m34s with -n 2 (serial: over
# 13 min). TEST_WORKERS=0 runs the suite in one process.
# `--dist load --maxschedchunk 2` deals tests two at a time in collection order, and
# tests/conftest.py puts the longest first, each followed by a short one: they start at
# once on different workers instead of one of them ending the run alone.
# --durations=15 lists the slowest tests, to keep CI's run under its 15 minutes.
TEST_WORKERS ?= 3

.PHONY: demo test lint bench browser clean constraints

# Every install takes its versions from constraints.txt, so a new release cannot change
# what the demo and the tests run on until `make constraints` picks it up.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Re-resolves every extra from PyPI (newest versions allowed by pyproject.toml) for all
# platforms and Pythons from 3.11; review the diff, then run `make test`.
constraints: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	  --upgrade --custom-compile-command 'make constraints' --quiet -o constraints.txt

# Debian's own chromium: tests drive it headless; no browser is ever downloaded.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "the dashboard test needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

demo: $(STAMP)
	$(BIN)/pipfleet demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load --maxschedchunk 2 --durations=15

bench: $(STAMP)
	$(BIN)/python bench/check_startup.py
	$(BIN)/python bench/check_corpus.py
	$(BIN)/python bench/manifests.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/fix.py
	$(BIN)/python bench/chaos.py
	$(BIN)/python bench/mcp_server.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis pipfleet-demo
