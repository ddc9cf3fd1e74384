# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make run    create .venv, install sosdesk (no test tools), start the server on 127.0.0.1:8080
#   make test   create .venv, install sosdesk with its test tools, run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
# Empty: the database every sos-server command uses without --db (the user's data
# folder), so `sos-server expert add NAME` adds to the database `make run` serves.
DB     ?=
PYTEST_ARGS ?=

.PHONY: run test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Two stamps: `run` needs the package alone (the server is standard-library only);
# the tests need their tools too (pytest, Playwright, PyInstaller, ...).
$(VENV)/.installed-base: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(VENV)/.installed-base $@

install: $(VENV)/.installed

run: $(VENV)/.installed-base
	$(strip $(BIN)/sos-server $(if $(DB),--db $(DB)) serve --host $(HOST) --port $(PORT))

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/server_load.py
	$(BIN)/python bench/long_poll.py
	$(BIN)/python bench/cases_1m.py
	$(BIN)/python bench/builder.py
	$(BIN)/python bench/agent_capture.py
	$(BIN)/python bench/remote_session.py
	$(BIN)/python bench/agent_start.py
	$(BIN)/python bench/window_idle.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
