# One-command entry points (README Quickstart). Each target sets up .venv first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch: on these machines pip takes it from a local wheel.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the harness, torch and the test tools

demo: $(STAMP)  ## run the default (smoke) suite, store it in SQLite, write the HTML report
	$(BIN)/harness plugins
	$(BIN)/harness run
	$(BIN)/harness report --out reports/latest

test: $(STAMP)  ## run every test, the slow ones included
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff, and mypy on harness/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) results reports/latest build *.egg-info
