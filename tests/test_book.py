"""The book (`make book`): mkdocs-jupyter renders every notebook, the guide and the glossary into one
static site whose links between pages work. Here the notebooks are rendered as stored (no
execution, a few seconds); `make test` builds it once more with every notebook executed in fast mode."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytest.importorskip("mkdocs_jupyter", reason="the book needs the dev extra: pip install -e '.[dev]'")


def build(site: Path, docs: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRM_BOOK_EXECUTE": "false", "NO_MKDOCS_2_WARNING": "1"}
    if docs is not None:  # the same book over another docs folder
        env["TRM_BOOK_DOCS"] = str(docs)
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
              "--site-dir", str(site)]
    return subprocess.run(mkdocs, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_book_has_every_notebook_the_guide_and_the_glossary(tmp_path):
    done = build(tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    assert len(NOTEBOOKS) == 10
    for page in ["index", "TEACHING", "GLOSSARY", *NOTEBOOKS]:
        assert (site / f"{page}.html").is_file(), f"{page}.html missing from the book"
    home = (site / "index.html").read_text()
    for name in NOTEBOOKS:  # the home page links to every notebook's page
        assert f'href="{name}.html"' in home, name
    for name in NOTEBOOKS:  # a notebook's links to other pages of the workbook point at their pages
        html = (site / f"{name}.html").read_text()
        relative = re.findall(r'href="(?![a-z]+:|#|/)([^"#?]+)', html)
        assert not [h for h in relative if h.endswith((".md", ".py"))], f"{name}: links left unconverted"
        assert 'href="GLOSSARY.html' in html, f"{name} does not link to the glossary"
    assert not (site / "solutions.html").exists()  # the teacher's solutions stay out of the students' book


def test_a_link_to_a_page_that_does_not_exist_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "notebooks", docs, ignore=shutil.ignore_patterns("results", "__pycache__"))
    nb = docs / "00_start_here.ipynb"
    nb.write_text(nb.read_text().replace("GLOSSARY.md", "GLOSARY.md", 1))
    done = build(tmp_path / "site", docs)
    assert done.returncode != 0
    assert "GLOSARY.md" in done.stderr and "not a page of the book" in done.stderr


def test_the_nbval_run_keeps_every_output_for_the_book(tmp_path):
    """`make test` builds the book from the outputs its nbval run recorded (book/nbval_record.py)."""
    import nbformat

    pytest.importorskip("nbval")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"), nbformat.v4.new_code_cell("print('hello from the kernel')"),
                nbformat.v4.new_code_cell("6 * 7")]
    nbformat.write(nb, str(notebooks / "good.ipynb"))
    nb.cells.append(nbformat.v4.new_code_cell("raise ValueError('broken')"))
    nbformat.write(nb, str(notebooks / "bad.ipynb"))
    (notebooks / "GLOSSARY.md").write_text("words\n")
    source = tmp_path / "book-src"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "book"), "TRM_BOOK_SOURCE": str(source)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", str(notebooks), "-p", "nbval_record",
                           "-p", "no:cacheprovider", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0  # bad.ipynb fails
    good = nbformat.read(str(source / "good.ipynb"), as_version=4)
    code = [c for c in good.cells if c.cell_type == "code"]
    assert code[0].outputs[0]["text"] == "hello from the kernel\n"
    assert code[1].outputs[0]["data"]["text/plain"] == "42"
    assert [c.execution_count for c in code] == [1, 2]
    nbformat.validate(good)
    assert (source / "INCOMPLETE").read_text() == "bad.ipynb\n"
    bad = nbformat.read(str(source / "bad.ipynb"), as_version=4)
    assert not any(c.get("outputs") for c in bad.cells if c.cell_type == "code")
    assert (source / "GLOSSARY.md").is_file()
