# Two commands do the whole set-up: `make run` and `make test`. See README.md and docs/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run serve manage test test-fast lint format lock bench docs screenshots clean

install: $(STAMP)

# Re-installs only when the lock file changes; a failed install leaves no stamp.
$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed; found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

PORT ?= 8000
API_PORT ?= 8001
OIDC_PORT ?= 8002

# PORT, API_PORT and OIDC_PORT choose the dashboard's, the demo API's and the demo identity
# provider's ports.
# DEMO_ARGS passes fault flags to the demo API, e.g. make run DEMO_ARGS="--latency-ms 1500".
# DJANGO_DEBUG defaults to off (fail closed): the development server asks for it.
# The demo login's password is kept between runs; NEW_PASSWORD=1 makes a new one.
run: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py rundemo --port $(PORT) --api-port $(API_PORT) --oidc-port $(OIDC_PORT) --demo-args="$(DEMO_ARGS)" $(if $(NEW_PASSWORD),--new-password)

# A manage.py command with the demo organisations of the last `make run`, e.g.
# make manage ARGS="add_member alice org-tejo --can-export".
manage: install
	DJANGO_DEBUG=1 DASHBOARD_DEMO=1 $(BIN)/python manage.py $(ARGS)

# The production setup, locally: DJANGO_DEBUG=0, collected static files, dashboard/gunicorn.py.
# The launcher runs with development settings; it starts gunicorn with DJANGO_DEBUG=0.
serve: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py rundemo --production --port $(PORT) --api-port $(API_PORT) --oidc-port $(OIDC_PORT) --demo-args="$(DEMO_ARGS)"

# PYTEST_ARGS narrows or adds to the run, e.g. make test PYTEST_ARGS="-k export".
# pytest reads dashboard.settings.test, which asks for DJANGO_DEBUG=1 itself.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The edit-test loop: everything but the browser suite, the tests that start servers of their
# own (gunicorn, nginx, redis-server, the demo API) and those taking more than about 2 s each.
test-fast: install
	$(BIN)/python -m pytest -m "not browser and not live and not slow" $(PYTEST_ARGS)

# ruff, then the architecture: import-linter's contracts in pyproject.toml (layers, no cycles,
# only contacts.upstream imports requests).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Times exports (20 ms, 100 ms, a limited upstream) against a plain fetch loop, then pages,
# then the summary of 60,000 contacts;
# prints, never fails on a target.
bench: install
	$(BIN)/python -m tests.benchmarks.bench_export
	$(BIN)/python -m tests.benchmarks.bench_pages
	$(BIN)/python -m tests.benchmarks.bench_summary
	$(BIN)/python -m tests.benchmarks.bench_duplicates
	$(BIN)/python -m tests.benchmarks.bench_lookup

# The documentation site (docs/) into docs/_build/, from nothing: warnings are errors (a broken
# link or a missing image fails), and nothing is fetched from the network.
docs: install
	rm -rf docs/_build
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build

# Retakes the documentation's screenshots (docs/images/) from the browser suite; needs Chromium.
screenshots: install
	DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -p no:randomly tests/browser/test_screenshots.py $(PYTEST_ARGS)

# Regenerates both lock files from pyproject.toml; commit the result.
lock: install
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.12 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.12 -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache docs/_build
