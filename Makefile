# One command each: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := web/static/vendor
DEMO_DB := instance/motcua.sqlite3
export DATABASE_URL ?= sqlite:///$(CURDIR)/$(DEMO_DB)

.PHONY: setup run serve test lint translations clean

setup: $(STAMP) $(VENDOR)/.installed translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/htmx $(VENDOR)/chartjs $(VENDOR)/bpmn-js $(VENDOR)/fonts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/chart.js/dist/chart.umd.js $(VENDOR)/chartjs/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/. $(VENDOR)/bpmn-js/
	cp node_modules/dejavu-fonts-ttf/ttf/DejaVuSerifCondensed*.ttf node_modules/dejavu-fonts-ttf/LICENSE $(VENDOR)/fonts/
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d web/translations

run: setup
	$(BIN)/motcua init-db
	$(BIN)/motcua load-catalogue
	$(BIN)/motcua demo
	@echo "MotCua demo on http://127.0.0.1:5000 — log in as reception, specialist, head, leader, clerk, supervisor, admin or designer (password: demo); citizens: http://127.0.0.1:5000/portal/"
	$(BIN)/motcua serve --host 127.0.0.1 --port 5000

# Production: gunicorn workers (MOTCUA_WORKERS, default cores + 1 with the database on this
# host, else 2 × cores + 1) on MOTCUA_BIND
# (default 127.0.0.1:8000) and MOTCUA_SCHEDULERS scheduler processes (default 1), against the
# PostgreSQL database DATABASE_URL, which must be given (the demo's SQLite default is not used).
serve: setup
	@if [ "$(origin DATABASE_URL)" = "file" ]; then \
	  echo "make serve: set DATABASE_URL to the production database, e.g." \
	       "DATABASE_URL=postgresql+psycopg://motcua@db.example/motcua make serve" >&2; exit 2; fi
	$(BIN)/motcua init-db
	$(BIN)/motcua serve-production

test: setup
	$(BIN)/pytest -q
	$(BIN)/ruff check .
	$(BIN)/mypy

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# Refresh the message catalogs after changing user-visible strings.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k N_ -o web/translations/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
