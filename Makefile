# Two commands (see README):
#   make demo   install into .venv, build the demo portfolio on SQLite, serve http://127.0.0.1:8000
#   make test   install the test tools, run the checks and the suite: embedded, its calendar
#               tests again a year ahead, then on PostgreSQL + Redis with a real Celery
#               worker (.ci/test-suites); last, schemathesis over the API (.ci/schemathesis)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ADDRPORT ?= 127.0.0.1:8000

# Where the production-shaped checks and suite find their services; override to run
# beside someone else's suite on the same servers.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
export TEST_DATABASE_URL TEST_BROKER_URL

# The embedded default: no production variables leak in from the caller's shell.
EMBEDDED := env -u DATABASE_URL -u CELERY_BROKER_URL
# Production settings as `check --deploy` should judge them: the secure defaults, a fresh
# random key (nothing outlives the run), no test-only relaxations.
PRODUCTION := env -u SECURE_SSL_REDIRECT -u SESSION_COOKIE_SECURE -u CSRF_COOKIE_SECURE \
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	ALLOWED_HOSTS=kpiboard.example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')"

.PHONY: demo test

$(PY):
	@echo "Creating the virtual environment in $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

demo: | $(PY)
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		echo "make demo builds and serves the embedded SQLite app; unset DATABASE_URL first." >&2; \
		exit 1; \
	fi
	@echo "Installing kpiboard and its dependencies (a few minutes on a fresh clone) ..."
	$(PY) -m pip install --progress-bar off -e . | sed -u '/^Requirement already satisfied/d'
	@echo "Creating the database ..."
	$(PY) manage.py migrate --no-input
	@echo "Building the demo portfolio (about half a minute) ..."
	$(PY) manage.py seed_demo --reset
	@# kpiboard's own error pages, not Django's debug pages (DEBUG=true make demo for those).
	DEBUG=$${DEBUG:-false} $(PY) manage.py serve_embedded $(ADDRPORT)

test: | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(EMBEDDED) $(PY) manage.py check --fail-level WARNING
	$(EMBEDDED) $(PY) manage.py makemigrations --check --dry-run
	$(PRODUCTION) $(PY) manage.py check --deploy --fail-level WARNING
	bash .ci/test-suites
	PY=$(PY) bash .ci/schemathesis
