"""The notebooks as Colab runs them: a fresh environment, the first cell installing the workbook from git.

The environment is shaped like Colab's: torch (the same version as this one, so pip takes it from its
cache), numpy, matplotlib, ipywidgets and a Jupyter kernel preinstalled; ``google.colab`` imported at
start-up; no trm_core. The repository is served from a local copy of this working tree through
``TRM_WORKBOOK_URL`` (``git+file://``), so the first cell's ``pip install`` and the shipped-checkpoint
download both come from it. Notebooks 00 and 07 then run to the end in fast mode, in a folder outside
the repository (Colab's /content), and torch and numpy must be exactly as they were.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import REPO

NOTEBOOKS = ["00_start_here", "07_mazes_and_arc"]
PREINSTALLED = [f"torch=={torch.__version__.split('+')[0]}", "numpy", "matplotlib", "ipywidgets", "ipykernel",
                "nbclient", "nbformat", "tqdm"]

RUNNER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    path, cwd, out = sys.argv[1:4]
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    finally:
        nbformat.write(nb, out)
""")

STACK = textwrap.dedent("""
    import json, os, numpy, torch
    print(json.dumps({"torch": torch.__version__, "numpy": numpy.__version__,
                      "torch_mtime": os.path.getmtime(torch.__file__),
                      "numpy_mtime": os.path.getmtime(numpy.__file__)}))
""")


def sh(*argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)


def served_copy(dst: Path) -> Path:
    """This working tree (tracked files and untracked ones git does not ignore) as a one-commit git repository."""
    files = sh("git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z").stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dst / name)
    for step in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "served"]):
        assert sh("git", "-C", dst, *step).returncode == 0
    return dst


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    root = tmp_path_factory.mktemp("colab")
    venv = root / "venv"
    assert sh(sys.executable, "-m", "venv", venv).returncode == 0
    py = venv / "bin" / "python"
    built = sh(py, "-m", "pip", "install", "-q", *PREINSTALLED)
    if built.returncode != 0:
        pytest.skip(f"could not build the Colab-shaped environment (needs PyPI): {built.stderr.strip()[-300:]}")
    site = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s own module."""\n')
    (site / "sitecustomize.py").write_text("import google.colab  # as in a Colab kernel: imported at start-up\n")
    assert sh(py, "-c", "import trm_core", cwd=root).returncode != 0  # not installed: the first cell installs it
    repo = served_copy(root / "served")
    home = root / "home"
    home.mkdir()
    env = {**os.environ, "TRM_FAST": "1", "TRM_WORKBOOK_URL": repo.as_uri(), "HOME": str(home),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONNOUSERSITE": "1"}
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "TRM_DATA_DIR", "JUPYTER_PATH"):
        env.pop(key, None)
    return dict(py=py, root=root, env=env, stack=json.loads(sh(py, "-c", STACK, env=env).stdout))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_as_on_colab(colab, name, tmp_path):
    content = tmp_path / "content"  # Colab's working folder: no trm_core anywhere above it
    content.mkdir()
    (content / "run.py").write_text(RUNNER)
    executed = tmp_path / f"{name}.executed.ipynb"
    result = sh(colab["py"], content / "run.py", REPO / "notebooks" / f"{name}.ipynb", content, executed,
                env=colab["env"], cwd=content, timeout=1200)
    assert result.returncode == 0, f"{name} failed as on Colab:\n{result.stderr[-3000:]}"
    outputs = "\n".join(
        out.get("text", "") if isinstance(out.get("text", ""), str) else "".join(out["text"])
        for cell in json.loads(executed.read_text())["cells"] for out in cell.get("outputs", [])
    )
    assert "this notebook also needs" not in outputs  # the first cell installed everything it needs
    if name == "00_start_here":
        assert "loaded the shipped checkpoint" in outputs  # downloaded from TRM_WORKBOOK_URL
    after = json.loads(sh(colab["py"], "-c", STACK, env=colab["env"]).stdout)
    assert after == colab["stack"], "the notebook changed Colab's torch or numpy"
    installed = sh(colab["py"], "-m", "pip", "show", "trm_core", env=colab["env"]).stdout
    assert "Name: trm_core" in installed
