# The few commands a newcomer needs. `make run` starts everything; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Django 6 needs Python 3.12+: take the first interpreter that qualifies (pyenv builds included).
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	$$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$c; break; }; done)

.PHONY: run test install lint format migrations-check messages vendor clean bench bench-load fuzz

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (Django 6)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install  ## migrate, load reference + demo data, start web, worker and beat
	$(PY) -m programme.stack run

test: install  ## the whole suite against real PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL)
	$(PY) -m programme.stack test $(ARGS)

SCALE ?= small
bench: install  ## national-scale benchmarks into BENCHMARKS.md (SCALE=small|medium|full)
	$(PY) -m bench run --scale $(SCALE)

USERS ?= 50
MINUTES ?= 10
PACE ?= human
bench-load: install  ## the issue #7 load scenario alone, on the data of the last `make bench` (PACE=human|stress)
	$(PY) -m bench load --users $(USERS) --minutes $(MINUTES) --pace $(PACE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

fuzz: install  ## tests/access with 1.000 Hypothesis examples per form and filter, every hostile value
	FUZZ_PROFILE=access-fuzz $(PY) -m programme.stack test tests/access/test_fuzz.py tests/access/test_filters_hostile.py $(ARGS)

migrations-check: install
	DJANGO_DEBUG=1 $(PY) -m programme.stack manage makemigrations --check --dry-run

messages: install  ## refresh the gettext catalogues (needs GNU gettext)
	DJANGO_DEBUG=1 DATABASE_URL=postgres://unused/unused $(PY) manage.py makemessages -l vi -l en --ignore=.venv --ignore=var --ignore=staticfiles
	DJANGO_DEBUG=1 DATABASE_URL=postgres://unused/unused $(PY) manage.py compilemessages --ignore=.venv

BOOTSTRAP_VERSION := 5.3.9
HTMX_VERSION := 2.0.11
CHART_VERSION := 4.6.1
LEAFLET_VERSION := 1.9.4
vendor:  ## refresh static/vendor from the npm registry
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent bootstrap@$(BOOTSTRAP_VERSION) htmx.org@$(HTMX_VERSION) \
	  chart.js@$(CHART_VERSION) leaflet@$(LEAFLET_VERSION) >/dev/null \
	&& mkdir b h c l && tar xzf bootstrap-*.tgz -C b && tar xzf htmx.org-*.tgz -C h \
	&& tar xzf chart.js-*.tgz -C c && tar xzf leaflet-*.tgz -C l \
	&& cp c/package/dist/chart.umd.min.js c/package/LICENSE.md $(CURDIR)/static/vendor/chart/ \
	&& cp l/package/dist/leaflet.js l/package/dist/leaflet.css l/package/LICENSE $(CURDIR)/static/vendor/leaflet/ \
	&& cp l/package/dist/images/*.png $(CURDIR)/static/vendor/leaflet/images/ \
	&& cp b/package/dist/css/bootstrap.min.css b/package/dist/js/bootstrap.bundle.min.js b/package/LICENSE $(CURDIR)/static/vendor/bootstrap/ \
	&& cp h/package/dist/htmx.min.js h/package/LICENSE $(CURDIR)/static/vendor/htmx/ \
	&& sed -i '/sourceMappingURL/d' $(CURDIR)/static/vendor/*/*.js $(CURDIR)/static/vendor/*/*.css

clean:
	rm -rf $(VENV) var staticfiles
