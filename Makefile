# The two Quick start commands are `make run` and `make test`; both need only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck bench demo clean migration docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## install, load demo data on the embedded defaults, serve on 127.0.0.1:8000
	$(BIN)/vault init
	$(BIN)/vault demo
	$(BIN)/vault serve --host 127.0.0.1 --port 8000

test: $(STAMP)  ## install and run the whole test suite
	$(BIN)/python -m pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict vault

check: test lint typecheck

bench: $(STAMP)  ## run every benchmark and print one table
	$(BIN)/python bench/run_all.py

docs: $(STAMP)  ## serve the documentation in docs/ on 127.0.0.1:8001, rebuilt on every change
	$(BIN)/mkdocs serve

migration: $(STAMP)  ## regenerate the initial migration from the table models (before the first release only)
	$(BIN)/python -m vault.migrations.regenerate
	$(BIN)/ruff format -q vault/migrations/versions
	$(BIN)/ruff check -q --fix vault/migrations/versions

clean:
	rm -rf $(VENV) vault.db vault.db-wal vault.db-shm
