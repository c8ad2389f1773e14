"""The strategy backtest's PDF: written by the strategy profile's run, every page rendered to an image (pdfium) and
none blank; the why-no-trade page and the risk page say what they hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pypdfium2 as pdfium

from config import load_profile
from reports.strategy_pdf import write_strategy_pdf
from supervisors.backtest import run_backtest

WEEK = {"SPREADWRIGHT__BACKTEST__DAY": "2019-05-13", "SPREADWRIGHT__BACKTEST__END": "2019-05-24",
        "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "300"}


def ink(page) -> float:
    """Share of the rendered page's pixels that are not white."""
    pixels = np.asarray(page.render(scale=0.5).to_pil().convert("L"))
    return float((pixels < 245).mean())


def test_the_strategy_profile_writes_a_pdf_whose_pages_are_not_blank(tmp_path):
    result = run_backtest(load_profile("config/profiles/strategy.yaml", env=WEEK), tmp_path)
    pdf_path = tmp_path / "report.pdf"
    assert pdf_path.exists() and (tmp_path / "report.html").exists() and (tmp_path / "structure_trips.csv").exists()
    pdf = pdfium.PdfDocument(str(pdf_path))
    assert len(pdf) == 6
    inks = [ink(pdf[i]) for i in range(len(pdf))]
    assert all(share > 0.003 for share in inks), inks
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert "methodology" in texts[0] and "Why no trade" in texts[4] and "VaR(95%)" in texts[5]
    trades = result.summary["structure_trades"]
    assert f"{trades['all']['trades']}" in texts[1]
    assert "Structures traded" in (tmp_path / "report.html").read_text()


def test_a_run_without_structures_still_prints_every_page(tmp_path):
    summary = {"session": "empty", "day": "2019-05-13", "end": "2019-05-13", "seed": 1, "pnl": {},
               "structure_trades": {"all": {}, "by_structure": {}, "by_regime": {}, "by_exit": {}, "open_at_end": [],
                                    "not_traded": {}}}
    path = write_strategy_pdf(tmp_path / "r.pdf", summary, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    pdf = pdfium.PdfDocument(str(path))
    assert len(pdf) == 6 and all(ink(pdf[i]) > 0.0005 for i in range(len(pdf)))
    assert "No daily P&L" in pdf[5].get_textpage().get_text_range()
