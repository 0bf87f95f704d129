# Every target bootstraps .venv by itself; nothing is downloaded at run time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 2

.PHONY: run test test-fast test-faults lint format bench clean slurm-start slurm-stop slurm-status run-slurm test-slurm

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[workflow,dev]'
	touch $(STAMP)

# The demo: config/config.yaml (a site's template) with config/demo.yaml (the demo's settings).
DEMO_CONFIG := config/config.yaml config/demo.yaml

run: $(STAMP)
	$(BIN)/snakemake --workflow-profile workflow/profiles/default --configfile $(DEMO_CONFIG) \
		--cores $(CORES)

test: $(STAMP)
	$(MAKE) lint
	$(BIN)/python -m pytest

# The edit-test loop: unit tests and doctests, no workflow run, cluster or browser (about 50 s here).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not slurm and not browser" tests/unit src/haicgx

# The fault-injection suite (docs/reliability.md): kills, full disk (root), races, tampering.
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q -m faults tests

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --configfile $(DEMO_CONFIG)

format: $(STAMP)
	$(BIN)/ruff format src tests scripts
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/snakefmt Snakefile rules

# The benchmark (bench/run.py, docs/performance.md): inputs generated under bench/work/.
# `make bench BENCH_ARGS=--quick` for the small sizes; `BENCH_ARGS="--only a,d"` for a subset.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# A single-node SLURM on this Debian machine (root; docs/cluster.md), and the demo through it.
slurm-start slurm-stop slurm-status:
	bash tools/slurm/local-slurm.sh $(@:slurm-%=%)

run-slurm: $(STAMP)
	$(BIN)/snakemake --workflow-profile workflow/profiles/slurm --configfile $(DEMO_CONFIG)

test-slurm: $(STAMP)
	$(BIN)/python -m pytest tests/cluster

clean:
	rm -rf results logs benchmarks .snakemake
