# The two commands a new user needs: `make run` and `make test`. Both set everything up on a
# fresh machine: a virtual environment, the dependencies, and, when DATABASE_URL / REDIS_URL
# are unset, an embedded PostgreSQL and redis-server under .local/ (devtools/devservices.py).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The exports are captured first: `eval "$$(failing command)"` would succeed and go on without them.
SERVICES := services_env="$$($(PY) -m devtools.devservices env)" && eval "$$services_env" && export DATABASE_URL REDIS_URL S3_ENDPOINT_URL S3_BUCKET S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY

.PHONY: run test test-fast lint typecheck lint-imports format bench migrate services-stop clean prod

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(SERVICES) && exec devtools/run.sh

test: $(VENV)/.installed
	$(SERVICES) && $(PY) -m pytest $(PYTEST_ARGS)

# Everyday work: every test but the system lane (those that start gunicorn, outage stacks,
# sandboxes over HTTP or other processes; tests/lanes.py assigns the lanes).
test-fast: $(VENV)/.installed
	$(SERVICES) && $(PY) -m pytest -m "not system" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The django-stubs plugin imports config.settings, whose defaults need no database or Redis.
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy api shared_apps tenant_apps tasks

# The app layers (pyproject.toml [tool.importlinter]): no cycle between apps, nothing imports upward.
lint-imports: $(VENV)/.installed
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: $(VENV)/.installed
	$(SERVICES) && DB_POOL=false $(PY) manage.py migrate_tenants_if_needed --executor=multiprocessing

bench: $(VENV)/.installed
	$(SERVICES) && $(PY) -m bench.run

# Production settings on this machine: gunicorn, worker, scheduler and Caddy (TLS with its
# internal CA on :8443) under honcho from deploy/Procfile; see docs/operations.md, "Production locally".
prod: $(VENV)/.installed
	$(SERVICES) && $(PY) -m devtools.prod_env .local/prod.env \
		&& DB_POOL=false $(PY) manage.py migrate_tenants_if_needed --executor=multiprocessing -v 0 \
		&& exec $(VENV)/bin/honcho --app-root . -f deploy/Procfile -e .local/prod.env start

services-stop: $(VENV)/.installed
	$(PY) -m devtools.devservices stop

clean: services-stop
	rm -rf .local
