"""The one HTML report template: a page of sections (markdown text, interactive plotly charts, tables, images),
self-contained: plotly's JavaScript is embedded once in the page, so it opens offline, from a file, with no
network. The backtest, the butterfly exit study and the Monte Carlo reports all render through `page`.
"""

from __future__ import annotations

import base64
import html as html_lib
from typing import Any, NamedTuple

import pandas as pd

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.chart { margin: 0.5em 0 1.5em; }
.note { color: #555; font-size: 0.9em; }
"""


class Section(NamedTuple):
    """`kind`: 'markdown' (headings, paragraphs, bullets, pipe tables), 'chart' (a plotly Figure), 'table' (a
    DataFrame) or 'image' (PNG bytes); `caption` shows under a table or an image."""

    kind: str
    content: Any
    caption: str = ""


def page(title: str, sections: list[Section]) -> str:
    """The report as one HTML document."""
    from plotly.offline import get_plotlyjs

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape(title)}</title>",
             f"<style>{_STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"]
    for number, section in enumerate(sections):
        parts.append(_render(section, number))
    parts.append("</body></html>")
    return "\n".join(parts)


def page_from_markdown(title: str, markdown: str, charts: dict[str, Any]) -> str:
    """A markdown report as the page: each `![alt](name)` line becomes the chart `charts[name]` (a plotly Figure,
    drawn interactively, or PNG bytes), the rest markdown sections."""
    sections, text = [], []
    for line in markdown.splitlines():
        name = line[line.index("(") + 1:-1] if line.startswith("![") and line.endswith(")") else None
        if name is None or name not in charts:
            text.append(line)
            continue
        sections.append(Section("markdown", "\n".join(text)))
        text = []
        chart = charts[name]
        sections.append(Section("image", chart) if isinstance(chart, bytes) else Section("chart", chart))
    sections.append(Section("markdown", "\n".join(text)))
    return page(title, sections)


def _render(section: Section, number: int) -> str:
    if section.kind == "markdown":
        return markdown_html(section.content)
    if section.kind == "chart":
        chart = section.content.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{number}",
                                        config={"displaylogo": False})
        return f"<div class='chart'>{chart}</div>"
    if section.kind == "table":
        return table_html(section.content) + _caption(section.caption)
    if section.kind == "image":
        encoded = base64.b64encode(section.content).decode()
        return f"<img src='data:image/png;base64,{encoded}' style='max-width:100%'>" + _caption(section.caption)
    raise ValueError(f"section kind: {section.kind!r} is not markdown, chart, table or image")


def _caption(text: str) -> str:
    return f"<p class='note'>{html_lib.escape(text)}</p>" if text else ""


def table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html_lib.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html_lib.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{rows}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(value)


def markdown_html(text: str) -> str:
    """The small markdown the reports write: #-headings, paragraphs, '- ' bullets, pipe tables, **bold**,
    `code`."""
    out, table, bullets = [], [], []

    def flush() -> None:
        if table:
            rows = [r.strip().strip("|").split("|") for r in table if not set(r.replace("|", "").strip()) <= {"-", ":"}]
            head, *body = rows
            out.append(table_html(pd.DataFrame([[c.strip() for c in r] for r in body],
                                               columns=[c.strip() for c in head])))
            table.clear()
        if bullets:
            out.append("<ul>" + "".join(f"<li>{_inline(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            bullets.append(line[2:])
            continue
        flush()
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 4)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def _inline(text: str) -> str:
    escaped = html_lib.escape(text)
    for marker, tag in (("**", "b"), ("`", "code")):
        pieces = escaped.split(marker)
        escaped = "".join(piece if i % 2 == 0 else f"<{tag}>{piece}</{tag}>" for i, piece in enumerate(pieces))
    return escaped
