# Every thing a person does with ShopLens is one target here. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU wheel by default; a GPU user installs a CUDA build of the same version first (README).
TORCH_SPEC ?= torch==2.13.0
LS_VENV := .venv-ls
LS_VERSION := 1.23.2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format bench install install-dev labelstudio-install e2e-deps clean help

help:
	@echo "make run    install, load the sample shop, train a first model, start Label Studio and the app"
	@echo "make test   install what tests need, lint, and run every test tier"
	@echo "make bench  run the benchmarks in bench/ (results in bench/results/)"
	@echo "make lint   ruff check + format check + mypy (type check)"
	@echo "make format ruff format + autofix"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH_SPEC)" -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q "$(TORCH_SPEC)" -e ".[dev,ray]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Label Studio's pins clash with the app's, so the server gets its own virtual environment.
$(LS_VENV)/.installed:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q --upgrade pip
	$(LS_VENV)/bin/pip install -q "label-studio==$(LS_VERSION)"
	@touch $@

labelstudio-install: $(LS_VENV)/.installed

# Debian's Chromium for the browser test tier (no browser downloads); skipped when not root.
e2e-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "note: could not install chromium; the e2e tier will be skipped"; \
	  else echo "note: chromium not installed and not root; the e2e tier will be skipped"; fi; }
	@# a Chinese font, so screenshots of the Chinese dashboard show characters, not boxes
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null \
	      || echo "note: no Chinese font; Chinese screenshots will show boxes"; fi; }

# Scoring the sample shop takes minutes on a laptop CPU: it runs in the background while the
# dashboard is already up, and pages fill in as predictions land (see docs/architecture.md).
# `score --all` scores every registered task that has an active model: the list is the registry's.
run: install labelstudio-install
	$(BIN)/shoplens load-sample
	$(BIN)/shoplens train --all --if-missing
	$(BIN)/shoplens setup-admin --if-missing
	$(BIN)/shoplens labelstudio start
	@mkdir -p "$${SHOPLENS_HOME:-var}/logs"
	@echo "scoring every task with a model in the background (log: $${SHOPLENS_HOME:-var}/logs/scoring.log)"
	@nohup $(BIN)/shoplens score --all >"$${SHOPLENS_HOME:-var}/logs/scoring.log" 2>&1 &
	$(BIN)/streamlit run app/main.py --server.address 127.0.0.1 --server.headless true

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install-dev labelstudio-install e2e-deps lint
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(LS_VENV) .pytest_cache .ruff_cache
