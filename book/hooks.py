"""MkDocs hooks for the book (``make book``; named in ``mkdocs.yml``).

Two things mkdocs and mkdocs-jupyter do not do by themselves:

- the home page lives in ``book/index.md``, outside the docs folder (``notebooks/``, which holds
  only the workbook itself); it is added as a generated ``index.md`` beside the notebooks;
- links inside a notebook (``[glossary](GLOSSARY.md)``) are left as written by mkdocs-jupyter, which
  breaks them in the site; they are pointed at the pages they name here, and one that names no page
  of the book is a warning (an error under ``--strict``). A link to a notebook's ``.py`` twin goes to
  its page too.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote

from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import File

log = get_plugin_logger("book")

INDEX = Path(__file__).with_name("index.md")
# href="TARGET" or href="TARGET#anchor" where TARGET is relative: no scheme, not "#..." or "/..."
RELATIVE_HREF = re.compile(r'href="(?![A-Za-z][A-Za-z0-9+.-]*:|[#/])([^"#?]+)([#?][^"]*)?"')


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=INDEX.read_text(encoding="utf-8")))
    return files


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html  # Markdown pages: mkdocs rewrites and checks their links itself
    here = posixpath.dirname(page.file.src_uri)

    def point(match: re.Match) -> str:
        path = posixpath.normpath(posixpath.join(here, unquote(match[1])))
        target = files.get_file_from_path(path)
        if target is None and path.endswith(".py"):
            target = files.get_file_from_path(path[: -len(".py")] + ".ipynb")
        if target is None:
            log.warning("%s links to '%s', which is not a page of the book", page.file.src_uri, match[1])
            return match[0]
        return f'href="{target.url_relative_to(page.file)}{match[2] or ""}"'

    return RELATIVE_HREF.sub(point, html)
