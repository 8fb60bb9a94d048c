"""A pytest plugin for nbval runs: keep what each notebook printed and drew, to build the book from it.

``make test`` executes every notebook once, under nbval, and then renders the fast-mode book from
those very outputs instead of executing all the notebooks a second time inside mkdocs:

    PYTHONPATH=book TRM_BOOK_SOURCE=runs/book-src pytest --nbval-lax notebooks -p nbval_record
    TRM_BOOK_DOCS=runs/book-src TRM_BOOK_EXECUTE=false mkdocs build --strict

At the end of the session ``$TRM_BOOK_SOURCE`` receives a copy of ``notebooks/`` in which each notebook
whose every code cell ran and passed carries the outputs nbval received from its kernel. A notebook
with a failed or skipped cell keeps no outputs, and its name is listed in ``INCOMPLETE`` there (the
book build is meant to run only after a passing nbval run anyway).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

_runs: dict[Path, dict] = {}  # notebook -> {"outputs": {code cell number: outputs}, "failed": bool}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not hasattr(item, "cell_num") or not hasattr(item, "test_outputs"):
        return  # not an nbval cell
    run = _runs.setdefault(Path(str(item.parent.fspath)), {"outputs": {}, "failed": False})
    if report.failed or report.skipped:
        run["failed"] = True
    elif report.when == "call":
        run["outputs"][item.cell_num] = list(item.test_outputs or [])


def executed(path: Path, outputs: dict) -> nbformat.NotebookNode | None:
    """The notebook at ``path`` with ``outputs`` in its code cells, or None if a code cell has none recorded."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(outputs) != len(code):
        return None
    for number, cell in enumerate(code):
        cell.outputs = [nbformat.from_dict(dict(out)) for out in outputs[number]]
        cell.execution_count = number + 1
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = number + 1
    return nb


def pytest_sessionfinish(session):
    target = os.environ.get("TRM_BOOK_SOURCE")
    if not target or not _runs:
        return
    target = Path(target)
    source = next(iter(_runs)).parent
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("results", "__pycache__", ".ipynb_checkpoints"))
    incomplete = []
    for path, run in sorted(_runs.items()):
        nb = None if run["failed"] else executed(path, run["outputs"])
        if nb is None:
            incomplete.append(path.name)
        else:
            nbformat.write(nb, str(target / path.name))
    (target / "INCOMPLETE").write_text("".join(f"{name}\n" for name in incomplete))
