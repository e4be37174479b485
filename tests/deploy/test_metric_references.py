"""Every metric the rules and the dashboard read is one the services export.

The exported set comes from prometheus_client's registry after importing the services' metric modules
and composition roots, so a renamed or removed metric fails here rather than as an empty panel or an
alert that can never fire.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from tests.deploy import promql
from tests.deploy.tools import alerts, as_prometheus_sees_it, dashboard_expressions, recorded_names, rules

METRIC_MODULES = (
    "services.core.metrics",
    "services.poller.metrics",
    "services.normalizer.metrics",
    "services.sink.metrics",
    # The composition roots import whatever else a running service registers.
    "services.poller.__main__",
    "services.normalizer.__main__",
    "services.sink.__main__",
)

#: Series Prometheus itself adds to every scrape.
PROMETHEUS_GENERATED = frozenset({
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
})
#: Labels a scrape adds to every series (deploy/prometheus/prometheus.yml and the Kubernetes scrape job).
TARGET_LABELS = frozenset({"job", "instance", "service", "namespace", "pod"})

# ---- Metrics declared to come ---------------------------------------------------------------------
#: Metrics a rule or panel may already use although no service exports them yet, with their labels.
#: Keep this short and temporary: test_declared_metrics_are_not_exported_yet fails as soon as one is
#: exported, so that the entry is removed and the real definition is checked instead.
#: (wirefeed_consumer_lag_messages{topic,partition} was declared here until the sink exported it.)
DECLARED_TO_COME: dict[str, frozenset[str]] = {}
# ---------------------------------------------------------------------------------------------------

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Exported:
    """Series names a scrape of the services can return, with the label names each carries."""

    labels: dict[str, frozenset[str]]

    def __contains__(self, name: object) -> bool:
        return name in self.labels


@pytest.fixture(scope="module")
def exported() -> Exported:
    for module in METRIC_MODULES:
        importlib.import_module(module)
    labels: dict[str, frozenset[str]] = {}
    for family in REGISTRY.collect():
        declared = _declared_labels(family.name)
        names = {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
        for name in names:
            labels[name] = declared | ({"le"} if name.endswith("_bucket") else set())
        for sample in family.samples:
            labels[sample.name] = labels.get(sample.name, frozenset()) | frozenset(sample.labels)
    return Exported(labels)


def _declared_labels(family: str) -> frozenset[str]:
    """Label names of a collector, also before any labelled child exists (so it has no samples yet)."""
    collectors = getattr(REGISTRY, "_names_to_collectors", {})
    for name in (family, f"{family}_total", f"{family}_bucket"):
        collector = collectors.get(name)
        if collector is not None:
            return frozenset(getattr(collector, "_labelnames", ()))
    return frozenset()


def _expressions() -> Iterator[tuple[str, str]]:
    for rule in rules():
        yield f"rules.yml {rule.get('record') or rule.get('alert')}", rule["expr"]
    for where, expr in dashboard_expressions():
        yield f"dashboard {where}", as_prometheus_sees_it(expr)


@pytest.mark.parametrize(("expr", "expected"), [
    ('sum by (le) (rate(wirefeed_x_bucket{le=~"5|5[.]0"}[$__rate_interval]))', {"wirefeed_x_bucket"}),
    ("sum(rate(a_total[5m])) by (feed) / on(feed) group_left(outcome) b", {"a_total", "b"}),
    ("time() - max by (feed) (last_seen{feed=~\"$feed\"}) > 3 * 300 and on() vector(1)", {"last_seen"}),
    ('x offset 10m unless y @ start() or {__name__="z", job="j"}', {"x", "y", "z"}),
    ("histogram_quantile(0.99, sum without (instance) (rate(h_bucket[5m:1m])))", {"h_bucket"}),
    ("wirefeed:rule:ratio_rate5m > (14.4 * 0.01) and bool inf", {"wirefeed:rule:ratio_rate5m"}),
    ("# a comment naming not_a_metric\n  count(up == 0)", {"up"}),
])
def test_the_tokenizer_finds_metric_names(expr: str, expected: set[str]) -> None:
    assert promql.metric_names(expr) == expected


def test_the_tokenizer_reports_matched_labels() -> None:
    assert promql.selectors('m{outcome!~"ok|gone", feed="a"}[5m]') == [
        promql.Selector("m", frozenset({"outcome", "feed"}))]


def test_registry_introspection_sees_labels_before_any_sample(exported: Exported) -> None:
    assert exported.labels["wirefeed_poller_fetches_total"] == {"feed", "outcome"}
    assert exported.labels["wirefeed_end_to_end_latency_seconds_bucket"] == {"le"}
    assert "process_cpu_seconds_total" in exported


def test_rules_and_dashboard_read_only_exported_metrics(exported: Exported) -> None:
    known = set(exported.labels) | recorded_names() | PROMETHEUS_GENERATED | set(DECLARED_TO_COME)
    unknown = [f"{where}: {name}" for where, expr in _expressions()
               for name in sorted(promql.metric_names(expr)) if name not in known]
    assert unknown == [], "metrics no service exports:\n" + "\n".join(unknown)


def test_label_matchers_name_labels_the_metric_has(exported: Exported) -> None:
    wrong = []
    for where, expr in _expressions():
        for selector in promql.selectors(expr):
            labels = exported.labels.get(selector.metric, DECLARED_TO_COME.get(selector.metric))
            if labels is None:  # a recording rule or a series Prometheus generates
                continue
            extra = selector.labels - labels - TARGET_LABELS
            if extra:
                wrong.append(f"{where}: {selector.metric} has no label {sorted(extra)}")
    assert wrong == []


def test_declared_metrics_are_not_exported_yet(exported: Exported) -> None:
    arrived = sorted(name for name in DECLARED_TO_COME if name in exported)
    assert arrived == [], (f"{arrived} are exported now: remove them from DECLARED_TO_COME in "
                           "tests/deploy/test_metric_references.py so their real definition is checked")


def test_declared_metrics_are_used() -> None:
    used = set().union(*(promql.metric_names(expr) for _, expr in _expressions()))
    assert set(DECLARED_TO_COME) <= used


def test_every_alert_reads_at_least_one_metric() -> None:
    for rule in alerts():
        assert promql.metric_names(rule["expr"]), rule["alert"]
