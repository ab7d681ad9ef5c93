# asyncso developer entry points. `make test` works on a fresh Debian 12 machine: it installs the
# Python deps (pinned by constraints.txt), etcd, a kube-apiserver (built once, cached in
# ~/.cache/asyncso) and LocalStack (own venv), then runs the whole suite against them.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.asyncso-installed

.PHONY: test unit lint demo bench bench-deps clean venv

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: ERROR: $(PYTHON) not found (asyncso needs Python >= 3.11)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

venv: $(STAMP)

bench-deps:
	bash tools/devenv/install-system.sh
	bash tools/devenv/build-kube-apiserver.sh >/dev/null
	bash tools/devenv/install-localstack.sh >/dev/null
	bash tools/devenv/build-gotemplate-oracle.sh >/dev/null

test: $(STAMP) bench-deps
	$(PY) -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools
	$(VENV)/bin/mypy --strict
	$(VENV)/bin/lint-imports

demo: $(STAMP) bench-deps
	PYTHONPATH=tools $(PY) -m devenv demo

# `make bench N=10000 [RUNS=3] [PROFILE=1] [FRESHNESS=1] [INTERVAL=60] [BENCH_OUT=dir]`: the scale
# benchmark of W(N) on a fresh local bench per run (tools/bench, docs/benchmarks.md).
N ?= 1000
RUNS ?= 1
INTERVAL ?= 60
BENCH_OUT ?= bench-results
_on = $(filter 1 yes true,$(1))
bench: $(STAMP) bench-deps
	PYTHONPATH=tools $(PY) -m bench --count $(N) --runs $(RUNS) --refresh-interval $(INTERVAL) \
		--out $(BENCH_OUT) $(if $(call _on,$(PROFILE)),--profile) \
		$(if $(call _on,$(FRESHNESS)),--freshness) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	@echo "cached kube-apiserver and LocalStack venv stay in ~/.cache/asyncso (rm -rf it to rebuild)"
