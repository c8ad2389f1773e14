"""The README is a user guide that works: every Python snippet in it runs, and it stays short and self-contained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_each_python_snippet_runs(index, capsys):
    exec(compile(SNIPPETS[index], f"README.md snippet {index + 1}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()          # every snippet shows the reader something


def test_the_readme_is_a_guide_not_a_diary():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    assert "../shared" not in text                  # nothing a user needs lives outside the repository


DOCUMENTS = ["README.md", *sorted(f"docs/{p.name}" for p in (README.parent / "docs").glob("*.md")), "bench/RESULTS.md",
             "data/SOURCES.md"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_path_a_document_names_exists(document):
    root = README.parent
    text = (root / document).read_text()
    folders = "core|config|actors|sim|adapters|persistence|supervisors|control|reports|deploy|data|docs|bench|tests"
    named = set(re.findall(rf"`((?:{folders})/[\w./-]*)`", text))
    named |= set(re.findall(r"\]\(((?:docs|bench)/[\w./-]+)\)", text))
    missing = [p for p in sorted(named) if "<" not in p and "*" not in p and not p.startswith("reports/out")
               and not (root / p).exists()]
    assert missing == []
