# Two commands on a fresh machine:  `make demo` (the main job) and `make test` (every test).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; set TORCH= to keep a torch you already have (e.g. TORCH=torch).
TORCH  ?= torch==2.13.0

.PHONY: setup demo test book clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,notebooks]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/trm demo   # into runs/demo, or runs/demo-2, ... if that already holds a run

test: setup
	$(VENV)/bin/ruff check .
	TRM_FAST=1 $(PY) -m pytest tests trm_core
	if ls notebooks/*.ipynb >/dev/null 2>&1; then TRM_FAST=1 $(PY) -m pytest --nbval-lax notebooks -p no:cacheprovider; fi
	TRM_FAST=1 NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --quiet --site-dir runs/book-fast   # the book, notebooks in fast mode

# The book: every notebook executed in class mode (about 20 CPU minutes), with the guide and the
# glossary, as a static site in site/ (open site/index.html; no server needed).
book: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build

clean:
	rm -rf $(VENV) runs site
