import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_ray_init_is_refused_in_unit_tests():
    import ray

    with pytest.raises(RuntimeError, match="must not start Ray"):
        ray.init()


@pytest.mark.parametrize("package", ["core", "actors"])
def test_components_never_touch_ray_or_the_wall_clock(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        if "runtime" in path.relative_to(ROOT).parts:
            continue
        text = path.read_text()
        for needle in ("import ray", "from ray", "time.time(", "datetime.now(", "time.sleep(", "time.monotonic("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders


def test_core_imports_nothing_above_it():
    code = ("import sys, core.pricing.bsm, core.pricing.implied_vol, core.structures, core.payoff; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('ray', 'actors', 'supervisors', 'sim', 'config')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
