# The two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
VENDOR := static/vendor

.PHONY: run test install assets lint bench clean chromium

run: install
	HELPDESK_BASE_URL=$${HELPDESK_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/helpdesk serve --init --seed-demo --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: install chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium; say how to get it rather than fail in Playwright.
chromium:
	@test -x /usr/bin/chromium || { echo "make test needs Chromium at /usr/bin/chromium: sudo apt-get install chromium"; exit 1; }

install: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	touch $@

lint: install
	$(BIN)/ruff check helpdesk tests bench

bench: install
	$(BIN)/python bench/api_create.py --runs 3

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
