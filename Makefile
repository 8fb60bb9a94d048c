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
	TRM_FAST=1 $(PY) -m pytest -rs tests trm_core  # -rs: why each skipped test was skipped
	# every notebook once, in fast mode; nbval_record keeps their outputs for the book below
	TRM_FAST=1 PYTHONPATH=book TRM_BOOK_SOURCE=runs/book-src $(PY) -m pytest --nbval-lax notebooks -p no:cacheprovider -p nbval_record
	test ! -s runs/book-src/INCOMPLETE   # every notebook ran to its end
	# the book in fast mode, from those outputs (`make book` executes the notebooks in class mode)
	TRM_BOOK_DOCS=runs/book-src TRM_BOOK_EXECUTE=false NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir runs/book-fast

# The book: every notebook executed in class mode (about 20 CPU minutes), with the guide and the
# glossary, as a static site in site/ (open site/index.html; no server needed).
book: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build

clean:
	rm -rf $(VENV) runs site
