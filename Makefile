# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export ENGAGEMENT_DATA_DIR ?= $(CURDIR)/data
PORT ?= 3000

.PHONY: run test lint bench demo clean-data evaluate

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Generates the demo data on first start, then serves the UI with the inbox sensor and weekly schedule running.
run: $(STAMP)
	$(BIN)/engagement-pipeline init
	$(BIN)/dagster dev -w workspace.yaml -p $(PORT)

test: $(STAMP)
	$(BIN)/ruff check engagement_pipeline engagement_pipeline_tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engagement_pipeline engagement_pipeline_tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py

demo: $(STAMP)
	$(BIN)/engagement-pipeline demo --out $(ENGAGEMENT_DATA_DIR)

# Ground-truth evaluation (issue 9): simulated exports with known latent engagement and churn dates, run through
# the domain functions for several seeds; prints Spearman, lead time before churn, flag and match precision.
SEEDS ?= 1 2 3
evaluate: $(STAMP)
	$(BIN)/python -m engagement_pipeline.simulation.evaluate --seeds $(SEEDS)
