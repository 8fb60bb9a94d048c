"""Every notebook opened and run in JupyterLab, in a real (headless) Chromium, as a student would.

JupyterLab is started by the test on 127.0.0.1 over a copy of the notebooks (so nothing is saved into
the repository), with TRM_FAST=1. For each notebook: it opens with no dialog (no "Select Kernel"), Run
All runs every code cell, no cell has an error output and no widget says "Error displaying widget".
In 05 the explorer is used with the mouse and keyboard: moving the step slider and the n and T
sliders, and picking another puzzle in the dropdown, each redraws its picture.

Screenshots of every notebook after its run, and of the explorer before and after each move, go to
``$TRM_SCREENSHOTS`` (default ``runs/browser``) for a person to look at.

Needs Chromium (Debian: ``apt-get install chromium``; ``$TRM_CHROMIUM`` for another path) and the
Python package ``playwright`` (in the dev extra); skipped, saying so, when either is missing.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install playwright")
CHROMIUM = os.environ.get("TRM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("needs Chromium: apt-get install chromium (or set TRM_CHROMIUM)", allow_module_level=True)

NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("0*.ipynb"))
SHOTS = Path(os.environ.get("TRM_SCREENSHOTS", REPO / "runs" / "browser"))
TOKEN = "trm-workbook-test"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

# The notebook's panel in JupyterLab's main area, found by its path (not "the current widget").
PANEL = """(path) => {
    for (const w of window.jupyterapp.shell.widgets('main')) {
        if (w.context && w.context.path === path && w.sessionContext) return w;
    }
    return null;
}"""
# The notebook as JupyterLab holds it: every code cell's execution count and its error outputs.
CELL_STATE = """(path) => {
    const panel = (""" + PANEL + """)(path);
    const cells = panel.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        const errors = [];
        for (let j = 0; j < cell.outputs.length; j++) {
            const o = cell.outputs.get(j).toJSON();
            if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
        }
        out.push({index: i, count: cell.executionCount, errors: errors});
    }
    return {cells: out, kernel: panel.sessionContext.kernelDisplayStatus};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.py", "results"))
    news = root / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about Jupyter news?" toast on the pictures
    port = free_port()
    env = {**os.environ, "TRM_FAST": "1", "JUPYTER_CONFIG_DIR": str(root / "config"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start: {(root / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield dict(base=base, browser=browser, root=root)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def open_notebook(lab, name):
    """A new page with only this notebook open (its own fresh workspace), its kernel started and idle."""
    page = lab["browser"].new_page(viewport={"width": 1400, "height": 1000})
    path = f"notebooks/{name}.ipynb"
    page.goto(f"{lab['base']}/lab/workspaces/{name}/tree/{path}?reset&token={TOKEN}")
    page.wait_for_function(  # the kernel is up, or a dialog (e.g. "Select Kernel") waits for the user
        f"(path) => {{ if (!window.jupyterapp) return false; if (document.querySelector('.jp-Dialog')) return true; "
        f"const p = ({PANEL})(path); "
        "return !!p && p.sessionContext.isReady && p.sessionContext.kernelDisplayStatus === 'idle'; }",
        arg=path, timeout=120_000)
    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        text = dialogs.first.inner_text()
        page.close()
        pytest.fail(f"{name} opened with a dialog: {text!r}")
    page.evaluate(f"(path) => window.jupyterapp.shell.activateById(({PANEL})(path).id)", path)
    return page


def close_notebook(page, name):
    """Shut the notebook's kernel down (so the next notebook has the CPU and memory) and close the page."""
    try:
        page.evaluate(f"(path) => ({PANEL})(path).sessionContext.shutdown()", f"notebooks/{name}.ipynb")
    finally:
        page.close()


def run_all(page, name, timeout=900):
    path = f"notebooks/{name}.ipynb"
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.time() + timeout
    while True:
        state = page.evaluate(CELL_STATE, path)
        errors = [c for c in state["cells"] if c["errors"]]
        if errors:
            return state
        if state["kernel"] == "idle" and all(c["count"] for c in state["cells"]):
            return state
        if time.time() > deadline:
            pytest.fail(f"not every cell ran in {timeout} s: {json.dumps(state)[:1000]}")
        time.sleep(1)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_notebook(lab, name)
    try:
        t0 = time.time()
        state = run_all(page, name)
        seconds = time.time() - t0
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        errors = [f"cell {c['index']}: {e}" for c in state["cells"] for e in c["errors"]]
        assert not errors, f"{name}: " + "; ".join(errors)
        assert page.get_by_text("Error displaying widget").count() == 0, f"{name}: a widget failed to display"
        (SHOTS / f"{name}.json").write_text(json.dumps({"seconds": round(seconds, 1), "cells": len(state["cells"])}))
        if name.startswith("05"):
            use_the_explorer(page)
    finally:
        close_notebook(page, name)


def explorer_image(box) -> str:
    img = box.locator(".widget-output img").first
    img.wait_for(timeout=60_000)
    return img.get_attribute("src")


def redrawn(box, before: str, timeout=60) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = explorer_image(box)
        if now != before:
            return now
        time.sleep(0.25)
    pytest.fail("the explorer's picture did not change")


def use_the_explorer(page):
    """05's SudokuStepExplorer, shown live: every control redraws the picture."""
    box = page.locator(".widget-box").filter(has=page.locator(".widget-label", has_text="n (z updates)")).first
    box.scroll_into_view_if_needed()
    picture = explorer_image(box)
    box.screenshot(path=str(SHOTS / "05_explorer_0_start.png"))
    for k, label in enumerate(("step", "n (z updates)", "T (cycles)"), start=1):
        slider = box.locator(".widget-slider", has=page.locator(".widget-label", has_text=label)).first
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowLeft" if label == "step" else "ArrowRight")
        picture = redrawn(box, picture)
        box.screenshot(path=str(SHOTS / f"05_explorer_{k}_{label.split()[0]}.png"))
    box.locator(".widget-dropdown select").first.select_option(index=2)
    redrawn(box, picture)
    box.screenshot(path=str(SHOTS / "05_explorer_4_puzzle.png"))
