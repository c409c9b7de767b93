# The two commands of the README: `make run` and `make test`. Everything else is set up here.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export REFLEX_USE_NPM := 1
export NEXT_TELEMETRY_DISABLED := 1
DEMO_COMPANIES ?= 20000
DEMO_PEOPLE ?= 60000

.PHONY: run test setup browser

## run: set up, migrate, load the demo workspace when empty, start the app on http://localhost:3000
run: setup
	$(PY) -m audiences_app db upgrade
	$(PY) -m audiences_app demo --if-empty --companies $(DEMO_COMPANIES) --people $(DEMO_PEOPLE)
	cd $(CURDIR) && $(VENV)/bin/reflex run --env prod

## test: set up (Chromium included) and run the whole suite, browser tests too
test: setup browser
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }
