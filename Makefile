# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export ENGAGEMENT_DATA_DIR ?= $(CURDIR)/data
PORT ?= 3000
# The CSM's dashboard and API (`engagement-pipeline serve`), started next to the Dagster UI by `make run`.
WEB_PORT ?= 8080

.PHONY: run test test-fast lint bench bench-drop demo clean-data evaluate

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# An editable install compiles nothing (a wheel install does): compile our modules once, so a run with
	# PYTHONDONTWRITEBYTECODE set does not compile ~90 modules from source every time (~0.2 s per CLI run).
	$(BIN)/python -m compileall -q engagement_pipeline
	touch $(STAMP)

# Generates the demo data on first start, then serves the UI with the inbox sensor and weekly schedule running,
# and the CSM's dashboard/API beside it (in the background, ended with `make run` by the trap).
run: $(STAMP)
	$(BIN)/engagement-pipeline init
	@echo "Dagster UI (data engineer):    http://127.0.0.1:$(PORT)"
	@echo "Dashboard and API (CSM):       http://127.0.0.1:$(WEB_PORT)  (sign in with the token named above)"
	$(BIN)/engagement-pipeline serve --port $(WEB_PORT) & serve_pid=$$!; \
	trap 'kill $$serve_pid 2>/dev/null' EXIT INT TERM; \
	$(BIN)/dagster dev -w workspace.yaml -p $(PORT)

test: $(STAMP)
	$(BIN)/ruff check engagement_pipeline engagement_pipeline_tests benchmarks
	$(BIN)/python -m pytest -q

# The fast tier, for while you work: everything but the tests marked `slow` (pipeline runs, the scored demo,
# processes, browsers), with 20 examples per ingestion property instead of 60. `make test` runs everything.
test-fast: $(STAMP)
	INGEST_PROPERTY_EXAMPLES=$${INGEST_PROPERTY_EXAMPLES:-20} $(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check engagement_pipeline engagement_pipeline_tests benchmarks

# `make bench` = 1k, 10k, 100k, 1M; `make bench SIZES=1000,10000` for a quick look (BENCH_ARGS=--domain: per stage).
SIZES ?= 1000,10000,100000,1000000
bench: $(STAMP)
	$(BIN)/python -m compileall -q engagement_pipeline  # modules edited since the install, as a user's first run would
	$(BIN)/python benchmarks/bench_pipeline.py --sizes $(SIZES) $(BENCH_ARGS)

# The running product (`dagster dev` on a fresh home and data folder): the 19 demo exports dropped into the
# inbox at once, and one alone, each timed until engagement_report is rewritten (issue 11: 15 s and 8 s).
bench-drop: $(STAMP)
	$(BIN)/python -m compileall -q engagement_pipeline
	$(BIN)/python benchmarks/bench_drop.py $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/engagement-pipeline demo --out $(ENGAGEMENT_DATA_DIR)

# Ground-truth evaluation (issue 9): simulated exports with known latent engagement and churn dates, run through
# the domain functions for several seeds; prints Spearman, lead time before churn, flag and match precision.
SEEDS ?= 1 2 3 4 5 6 7 8
evaluate: $(STAMP)
	$(BIN)/python -m engagement_pipeline.simulation.evaluate --seeds $(SEEDS)
