# One command to run the product, one to test it.  Both create .venv if it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit test-integration test-e2e test-browser bench lint clean messages

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . || $(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: install  ## all four services + gateway on the local RabbitMQ, embedded databases
	$(PY) -m services.launch

test: install  ## the whole suite: unit, integration, end-to-end, then the console in Chromium (needs RabbitMQ + PostgreSQL)
	$(PY) -m pytest
	BC_TEST_TIER=browser $(PY) -m pytest tests/browser

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-e2e: install
	$(PY) -m pytest tests/e2e

test-browser: install  ## the web console driven in headless Chromium (Debian's chromium)
	BC_TEST_TIER=browser $(PY) -m pytest tests/browser

bench: install  ## gateway vs bare nameko RPC, a million-entry statement vs COPY, e-invoice checks vs bare XSD, documents vs bare WeasyPrint and COPY, console pages vs JSON reads
	$(PY) -m bench.gateway_vs_rpc
	$(PY) -m bench.statement
	$(PY) -m bench.einvoice
	$(PY) -m bench.documents
	$(PY) -m bench.console

lint: install  ## ruff, then mypy (configured in pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf var .pytest_cache .ruff_cache

messages: install  ## extract the messages of documents, mails and the console and update the sv / ru catalogues
	$(VENV)/bin/pybabel extract -F babel.cfg --no-default-keywords -k _ -k N_ -k gettext:2 -k ngettext:1,2 -k pgettext:1c,2 \
		--no-location --sort-output --omit-header -o services/documents/locale/messages.pot .
	$(VENV)/bin/pybabel update -i services/documents/locale/messages.pot -d services/documents/locale \
		--no-fuzzy-matching --ignore-obsolete
