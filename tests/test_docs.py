"""The glossary and the teacher's guide: there, linked from every notebook, and covering the words."""
import re

import jupytext
import pytest

from conftest import REPO

NOTEBOOKS = REPO / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("0*.py"))
TERMS = ["x", "y", "z", "z_H, z_L", "T", "n", "N_sup", "H_cycles / L_cycles", "supervision step", "segment",
         "deep supervision", "carry", "effective depth", "last-cycle gradient / one-step gradient", "ACT",
         "q_halt, q_continue", "EMA", "stablemax", "puzzle embedding", "augmentation", "voting",
         "valid shortest path", "exact accuracy, cell accuracy"]


def glossary_entries() -> list[str]:
    """The bold headwords that start a paragraph of GLOSSARY.md."""
    return re.findall(r"^\*\*(.+?)\*\*", (NOTEBOOKS / "GLOSSARY.md").read_text(), re.M)


def test_the_glossary_defines_every_term():
    entries = glossary_entries()
    missing = [t for t in TERMS if t not in entries]
    assert not missing, f"GLOSSARY.md has no entry for {missing}"
    assert len(entries) == len(set(entries)), "a term is defined twice"


def test_the_glossary_points_at_sections_that_exist():
    """Every "(NN section K)" reference names a notebook and a section it has."""
    text = (NOTEBOOKS / "GLOSSARY.md").read_text() + (NOTEBOOKS / "TEACHING.md").read_text()
    sections = {s.stem[:2]: set(re.findall(r"^# ## (\d+)\.", s.read_text(), re.M)) for s in SCRIPTS}
    refs = section_references(text)
    assert refs, "no section references found"
    for nb, k in refs:
        assert nb in sections, f"there is no notebook {nb}"
        assert k in sections[nb], f"notebook {nb} has no section {k}"


def section_references(text: str) -> list[tuple[str, str]]:
    """(notebook, section) pairs from mentions such as "(00 section 1, 01 sections 2 and 4-5)"."""
    refs = []
    for group in re.findall(r"\b0\d sections? \d[^()\n]*", text):
        notebook = None
        for part in re.split(r",\s*|\s+and\s+|;\s*", group):
            m = re.match(r"(0\d)(?: sections? (\d+)(?:-(\d+))?)?\b", part.strip())
            if m and (m.group(2) or len(part.strip()) == 2):
                notebook, first, last = m.group(1), m.group(2), m.group(3) or m.group(2)
            elif notebook and re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip()):
                first, last = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip()).groups()
                last = last or first
            else:
                break  # the sentence goes on: the reference ended
            refs += [(notebook, str(k)) for k in range(int(first), int(last) + 1)] if first else []
    return refs


def test_section_references_are_read_as_written():
    assert section_references("(00 section 1, 01 sections 2 and 4-5)") == [
        ("00", "1"), ("01", "2"), ("01", "4"), ("01", "5")]
    assert section_references("see 02 sections 1-3 and then") == [("02", "1"), ("02", "2"), ("02", "3")]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_notebook_links_the_glossary_and_the_guide(script):
    header = jupytext.read(script, fmt="py:percent").cells[0].source
    assert "](GLOSSARY.md)" in header and "](TEACHING.md)" in header, f"{script.name}: no glossary/guide link"


def test_the_guide_plans_a_class_with_measured_times():
    guide = (NOTEBOOKS / "TEACHING.md").read_text()
    assert "TIMINGS_TABLE" not in guide, "the timings table was never filled in"
    for script in SCRIPTS:
        assert script.stem in guide, f"TEACHING.md never mentions {script.stem}"
    for misconception in ("y and z", "All T cycles", "ACT means", "Effective depth"):
        assert misconception in guide


PAPERS = {"trm": "https://arxiv.org/abs/2510.04871", "hrm": "https://arxiv.org/abs/2506.21734"}


def markdown_texts() -> list[tuple[str, str]]:
    """(where, text) of every markdown cell of the notebooks, and of the Markdown files."""
    texts = [(f"{s.name} cell {i}", c.source) for s in sorted(NOTEBOOKS.glob("*.py"))
             for i, c in enumerate(jupytext.read(s, fmt="py:percent").cells) if c.cell_type == "markdown"]
    return texts + [(p.name, p.read_text()) for p in [*NOTEBOOKS.glob("*.md"), REPO / "README.md"]]


def test_every_table_and_figure_mention_links_to_its_paper():
    for where, text in markdown_texts():
        unlinked = re.findall(r"(?<!\[)\b(?:Tables?|Figures?) \d+\b(?!\])", text)
        assert not unlinked, f"{where}: {unlinked[0]!r} is not a link to the paper"
        for key in re.findall(r"\[(?:Tables?|Figures?) \d[^\]]*\]\[(\w+)\]", text):
            assert f"[{key}]: {PAPERS[key]}" in text, f"{where}: link [{key}] is not defined in the cell"
        for url in re.findall(r"\[(?:Tables?|Figures?) \d[^\]]*\]\(([^)]+)\)", text):
            assert url in PAPERS.values(), f"{where}: a table or figure links {url}, not a paper"
