"""Prometheus configuration, rules and their unit tests, and the dashboard's PromQL, checked by promtool."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import promql
from tests.deploy.tools import (
    KUBERNETES,
    PROMETHEUS_CONFIG,
    RULE_TESTS,
    RULES,
    SCRAPE_KUBERNETES,
    SERVICES,
    alerts,
    as_prometheus_sees_it,
    dashboard_expressions,
    load_yaml,
    load_yaml_documents,
    recorded_names,
    rules,
    run_tool,
)

SEVERITIES = {"page", "warning", "ticket"}


def test_promtool_check_config() -> None:
    result = run_tool("promtool", "check", "config", PROMETHEUS_CONFIG)
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    result = run_tool("promtool", "check", "rules", RULES)
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    result = run_tool("promtool", "test", "rules", *RULE_TESTS)
    assert (result.stdout + result.stderr).count("SUCCESS") == len(RULE_TESTS)


def test_the_config_scrapes_the_three_services_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["rule_files"] == ["rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SERVICES:
        job = jobs[f"wirefeed-{service}"]
        targets = [target for static in job["static_configs"] for target in static["targets"]]
        assert targets == [f"{service}:9400"]


def _test_cases() -> list[dict[str, Any]]:
    return [case for path in RULE_TESTS for case in load_yaml(path)["tests"]]


def _alert_tests() -> dict[str, list[dict[str, Any]]]:
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for case in _test_cases():
        for check in case.get("alert_rule_test", []):
            by_alert.setdefault(check["alertname"], []).append(check)
    return by_alert


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_every_alert_is_unit_tested_firing_and_quiet(alert: str) -> None:
    checks = _alert_tests().get(alert, [])
    assert any(check.get("exp_alerts") for check in checks), f"{alert}: no test where it fires"
    assert any(not check.get("exp_alerts") for check in checks), f"{alert}: no test where it stays quiet"


def test_rule_tests_name_only_alerts_that_exist() -> None:
    assert set(_alert_tests()) <= {rule["alert"] for rule in alerts()}


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda path: path.name)
def test_the_test_files_evaluate_every_rule_group_recording_rules_first(path: Path) -> None:
    order = load_yaml(path)["group_eval_order"]
    groups = [group["name"] for group in load_yaml(RULES)["groups"]]
    assert sorted(order) == sorted(groups)
    recording = [group["name"] for group in load_yaml(RULES)["groups"] if all("record" in r for r in group["rules"])]
    assert order[:len(recording)] == recording


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_has_severity_summary_and_a_one_line_runbook(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    runbook = annotations["runbook"]
    assert runbook.strip() and "\n" not in runbook.strip(), "runbook: one line of first steps"


def test_every_recording_rule_is_used() -> None:
    """By an alert, another recording rule, the dashboard, or at least a unit test."""
    used: set[str] = set()
    for rule in rules():
        used |= promql.metric_names(rule["expr"])
    for _, expr in dashboard_expressions():
        used |= promql.metric_names(as_prometheus_sees_it(expr))
    for case in _test_cases():
        for check in case.get("promql_expr_test", []):
            used |= promql.metric_names(check["expr"])
    assert recorded_names() - used == set()


def test_recording_rule_names_follow_level_metric_operations() -> None:
    for name in recorded_names():
        assert re.fullmatch(r"wirefeed:[a-z0-9_]+:[a-z0-9_]+", name), name


def test_dashboard_expressions_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each dashboard query (Grafana variables replaced) as a recording rule."""
    expressions = dashboard_expressions()
    assert expressions
    group = {"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}:check", "expr": as_prometheus_sees_it(expr)}
        for index, (_, expr) in enumerate(expressions)
    ]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False), encoding="utf-8")
    run_tool("promtool", "check", "rules", path)


def test_the_kubernetes_scrape_job_is_valid_prometheus_configuration(tmp_path: Path) -> None:
    """Debian's promtool lacks Kubernetes discovery, so the job is checked with a static target instead."""
    (job,) = load_yaml(SCRAPE_KUBERNETES)["scrape_configs"]
    assert job.pop("kubernetes_sd_configs")[0]["role"] == "pod"
    job["static_configs"] = [{"targets": ["10.0.0.1:8080"]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump({"scrape_configs": [job]}), encoding="utf-8")
    run_tool("promtool", "check", "config", path)


def _relabel(labels: dict[str, str], configs: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus relabelling (replace and keep), enough to follow the scrape job; None when dropped."""
    labels = dict(labels)
    for config in configs:
        value = config.get("separator", ";").join(labels.get(name, "") for name in config["source_labels"])
        match = re.fullmatch(config.get("regex", "(.*)"), value)
        action = config.get("action", "replace")
        if action == "keep":
            if match is None:
                return None
        elif action == "replace" and match is not None:
            replacement = re.sub(r"\$(\d+)", r"\\\1", config.get("replacement", "$1"))
            labels[config["target_label"]] = match.expand(replacement)
    return labels


@pytest.mark.parametrize("service", SERVICES)
def test_the_kubernetes_scrape_job_finds_each_pod_as_its_compose_job(service: str) -> None:
    (job,) = load_yaml(SCRAPE_KUBERNETES)["scrape_configs"]
    deployment = next(doc for doc in load_yaml_documents(KUBERNETES / f"{service}.yaml") if doc["kind"] == "Deployment")
    template = deployment["spec"]["template"]["metadata"]
    meta = {"__address__": "10.1.2.3:1234", "__metrics_path__": "/metrics",
            "__meta_kubernetes_namespace": deployment["metadata"]["namespace"],
            "__meta_kubernetes_pod_name": f"wirefeed-{service}-abc"}
    for prefix, values in (("label", template["labels"]), ("annotation", template["annotations"])):
        for key, value in values.items():
            meta[f"__meta_kubernetes_pod_{prefix}_{re.sub(r'[^a-zA-Z0-9_]', '_', key)}"] = value
    labels = _relabel(meta, job["relabel_configs"])
    assert labels is not None
    assert labels["job"] == f"wirefeed-{service}"
    assert labels["__address__"] == "10.1.2.3:9400"
    assert labels["__metrics_path__"] == "/metrics"
    unannotated = {k: v for k, v in meta.items() if "annotation_prometheus_io_scrape" not in k}
    assert _relabel(unannotated, job["relabel_configs"]) is None
