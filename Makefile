# The two commands a newcomer needs: `make run` and `make test`.
# Both create the virtualenv and install what they need on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint messages clean

run: $(VENV)/.installed
	$(BIN)/piazzabot run

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# Re-extract the translatable strings into bot/locales/piazzabot.pot.
messages: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _ -k p_ -k N_ -k n_:1,2 -k fail -o bot/locales/piazzabot.pot bot adapters scheduler

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "piazzabot needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[telegram,matrix,postgres]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) *.egg-info
