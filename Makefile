# The two commands a newcomer needs: `make run` and `make test`. Everything else is set-up for them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# Links in emails and the demo bank simulator (`simulate_bank`) use the web process's address.
PORTAL_SITE_URL ?= http://127.0.0.1:$(PORT)
export PORTAL_SITE_URL

.PHONY: run test lint typecheck checks pytest deps dev-deps chromium seed clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.deps: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.deps $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

# Debian's Chromium for the browser tests; Playwright never downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

var:
	mkdir -p var/broker/queue var/broker/control var/mail

## make run: migrate SQLite, seed the demo, start web + worker + beat (Ctrl-C stops all three).
run: deps var
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-portal.settings.local} $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-portal.settings.local} $(PY) manage.py seed_demo
	@echo "Portal on http://127.0.0.1:$(PORT)/ (health: /healthz, API docs: /api/docs/)"
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-portal.settings.local} $(VENV)/bin/honcho start -f Procfile -p $(PORT)

seed: deps var
	$(PY) manage.py seed_demo

## make test: lint, types, Django's checks, then the whole pytest suite.
test: dev-deps chromium var lint typecheck checks pytest

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: dev-deps
	$(VENV)/bin/mypy

checks: dev-deps var
	DJANGO_SETTINGS_MODULE=portal.settings.test $(PY) manage.py check --fail-level WARNING
	DJANGO_SETTINGS_MODULE=portal.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=portal.settings.test $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	DJANGO_SETTINGS_MODULE=portal.settings.production DJANGO_SECRET_KEY=deploy-check-$$(head -c 32 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9') \
	  DJANGO_ALLOWED_HOSTS=portal.example.com CACHE_URL=redis://127.0.0.1:6379/1 \
	  AUDIT_SIGNING_KEY=$$(head -c 32 /dev/urandom | base64) $(PY) manage.py check --deploy --fail-level WARNING

pytest: dev-deps chromium var
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf var artifacts
