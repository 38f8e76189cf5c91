# The two Quick start commands are `make run` and `make test`; both need only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck bench bench-national demo clean migration docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## install, load demo data on the embedded defaults, serve on 127.0.0.1:8000
	$(BIN)/vault init
	$(BIN)/vault demo
	$(BIN)/vault serve --host 127.0.0.1 --port 8000

# One test process more than cores: about a third of a test's time is spent waiting on
# PostgreSQL, served vault processes or the browser, which another process can use
# (on 2 cores: 6m26s with 2 processes and 5m43s with 3 beside other work; 6m08s with 3
# on a quiet machine).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: $(STAMP)  ## install and run the whole test suite
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict vault

check: test lint typecheck

bench: $(STAMP)  ## run every benchmark and print one table
	$(BIN)/python bench/run_all.py

# National size on PostgreSQL (VAULT_BENCH_POSTGRES_URL): BENCH_NATIONAL_SUBJECTS subjects
# (default 300k, 34 records each: 10.2M records) copied with COPY from one written through
# the services, their DEKs rotated, the chain verified; the load stops at
# BENCH_NATIONAL_LOAD_SECONDS (default 3000) if it has not finished, verify at
# BENCH_NATIONAL_VERIFY_SECONDS (default 1200); the whole of it at BENCH_NATIONAL_SECONDS.
# The caseload read over HTTP (counselors reading their own care teams, 32 connections) runs
# on the national store itself (bench/national_http.py).
BENCH_NATIONAL_SECONDS ?= 6000
bench-national: $(STAMP)  ## national-size PostgreSQL run (slow; see docs/benchmarks.md)
	timeout $(BENCH_NATIONAL_SECONDS) $(BIN)/python -m bench.national --mode full

docs: $(STAMP)  ## serve the documentation in docs/ on 127.0.0.1:8001, rebuilt on every change
	$(BIN)/mkdocs serve

migration: $(STAMP)  ## regenerate the initial migration from the table models (before the first release only)
	$(BIN)/python -m vault.migrations.regenerate
	$(BIN)/ruff format -q vault/migrations/versions
	$(BIN)/ruff check -q --fix vault/migrations/versions

clean:
	rm -rf $(VENV) vault.db vault.db-wal vault.db-shm
