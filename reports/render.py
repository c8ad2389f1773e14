"""Rendering shared by the reports: markdown tables, PNG figures, self-contained HTML pages."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd


def png(fig) -> bytes:
    """The matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def table(frame: pd.DataFrame) -> str:
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:,.3f}"
    return str(value)


def html_page(markdown: str, figures: dict[str, bytes], title: str) -> str:
    """The markdown as self-contained HTML (charts embedded as data URIs; opens offline, no CDN)."""
    import html as html_lib

    body, table = [], []

    def flush_table() -> None:
        if table:
            rows = [r.strip("|").split("|") for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = "".join(
                "<tr>"
                + "".join(
                    f"<{'th' if i == 0 else 'td'}>{html_lib.escape(c.strip())}</{'th' if i == 0 else 'td'}>"
                    for c in row
                )
                + "</tr>"
                for i, row in enumerate(rows)
            )
            body.append(f"<table>{cells}</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("!["):
            name = line[line.index("(") + 1:-1]
            data = base64.b64encode(figures[name]).decode()
            body.append(f'<figure><img alt="{name}" src="data:image/png;base64,{data}"></figure>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html_lib.escape(line.lstrip('# '))}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<li>{_bold(html_lib.escape(line[2:]))}</li>")
        elif line.strip():
            body.append(f"<p>{_bold(html_lib.escape(line))}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
             "font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "th{background:#f3f3f3}img{max-width:100%}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape(title)}</title>"
        f"<style>{style}</style>"
        f"</head><body>{''.join(body)}</body></html>\n"
    )


def _bold(text: str) -> str:
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
