"""`config` imports its models on first use: an actor that needs its logging settings does not pay for every
model and what they import (the strategist's pull in pandas, scipy and TA-Lib) when Ray restarts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_actor_host_imports_no_model_it_does_not_use():
    code = ("import sys, actors.runtime.ray_host; "
            "print(sorted(m for m in ('config.session', 'config.strategist', 'pandas', 'scipy', 'talib') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_exported_name_still_resolves_and_an_unknown_one_says_so():
    import config

    for name in config.__all__:
        assert getattr(config, name) is not None
    from config import SessionConfig, load_profile  # noqa: F401 - the usual spelling works
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        config.Nope  # noqa: B018
