"""deploy/prometheus and deploy/grafana: promtool checks the config and rules and runs the alert unit tests;
every metric a dashboard or an alert names is in the catalog."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from actors.runtime.metrics_catalog import CATALOG

ROOT = Path(__file__).parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make prometheus` installs it")


def _promtool(*args):
    return subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_promtool_accepts_the_alert_rules_and_the_scrape_config():
    checked = _promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0 and "8 rules found" in checked.stdout, checked.stdout + checked.stderr
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_the_alerts_fire_on_the_series_of_their_unit_tests():
    tested = _promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


@needs_promtool
def test_a_broken_alert_expression_is_caught(tmp_path):
    rules = (PROMETHEUS / "alerts.yml").read_text().replace("== 1", "== == 1", 1)
    (tmp_path / "alerts.yml").write_text(rules)
    checked = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "alerts.yml")], capture_output=True, text=True)
    assert checked.returncode != 0


def _metric_names(text: str) -> set[str]:
    names = set(re.findall(r"spreadwright_[a-z_]+", text))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names if not n.startswith("spreadwright_session")}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, PromQL) of every panel target in deploy/grafana/dashboards."""
    queries = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                queries.append((path.name, panel["title"], target["expr"]))
    return queries


def test_every_metric_named_by_a_panel_or_an_alert_is_in_the_catalog():
    used = _metric_names((PROMETHEUS / "alerts.yml").read_text())
    used |= {n for _, _, expr in dashboard_queries() for n in _metric_names(expr)}
    assert used and used <= set(CATALOG), sorted(used - set(CATALOG))


def test_grafana_provisioning_points_at_the_dashboards_datasource():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "spreadwright.yml").read_text())
    assert provider["providers"][0]["type"] == "file"
    for path in (GRAFANA / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and all(p["datasource"]["uid"] == uid for p in dashboard["panels"])
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
