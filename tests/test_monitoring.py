"""What operators are shipped in deploy/: the alert rules and the Grafana board name only
metrics that `/metrics` exports, and the rules are valid (`promtool check rules`, when Debian's
prometheus package is installed, as CI installs it)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
BOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
TOKEN = "monitoring-" + "z" * 24
# The dashboard's metric names all start so; PromQL's functions and labels do not.
METRIC_NAME = re.compile(r"\b(?:contactship|dashboard)_[a-z0-9_]+\b")


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def board_queries() -> list[str]:
    board = json.loads(BOARD.read_text())
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    queries += [
        variable["definition"]
        for variable in board["templating"]["list"]
        if variable["type"] == "query"
    ]
    return queries


@pytest.fixture
def exported(client, settings, upstream) -> set[str]:
    """The sample names a scrape shows (counters' `_total`, histograms' `_bucket`...)."""
    settings.DASHBOARD_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        sample.name
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.mark.django_db
def test_every_metric_the_alerts_and_the_board_name_is_exported(exported):
    queries = [rule["expr"] for rule in alert_rules()] + board_queries()
    assert len(queries) > 10
    for query in queries:
        names = set(METRIC_NAME.findall(query))
        assert names, f"names no metric of the dashboard: {query}"
        assert names <= exported, f"not exported: {names - exported} in {query}"


def test_the_alerts_operators_were_promised_are_there():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) >= {
        "ContactshipErrors",
        "ContactshipBreakerOpen",
        "ContactshipNoSuccessfulCall",
        "DashboardExportsFailing",
    }
    assert rules["ContactshipBreakerOpen"]["for"] == "5m"
    assert "[10m]" in rules["ContactshipNoSuccessfulCall"]["expr"]
    for rule in rules.values():
        assert rule["annotations"]["summary"]


def test_the_board_is_grafana_json_with_unique_panel_ids():
    board = json.loads(BOARD.read_text())
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert board["uid"] and board["title"]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool: apt-get install prometheus")
def test_promtool_accepts_the_rules():
    result = subprocess.run(  # noqa: S603 - a fixed tool on a file of the repository
        ["promtool", "check", "rules", str(ALERTS)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
