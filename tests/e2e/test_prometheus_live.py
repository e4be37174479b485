"""The pipeline as Prometheus sees it: Debian's real prometheus scrapes the running services on
127.0.0.1, loads the project's rules, and answers queries for the pipeline's metrics; promtool lints
each service's live /metrics output."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from services.core.supervise import SERVICES, Pipeline
from tests.helpers import FeedServer, Resource, free_port, pipeline_env, rss, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install prometheus (the project's .ci/run does)")
    return path


@pytest.fixture
def pipeline(kafka_bootstrap: str, topic_prefix: str, sqlite_url: str, feed_server: FeedServer,
             tmp_path: Path) -> Iterator[Pipeline]:
    feed_server.resources["/f.xml"] = Resource(rss("F", [
        {"title": f"Story {n}", "link": f"https://f.example/{n}", "guid": f"f-{n}", "body": f"<p>Text {n}.</p>"}
        for n in range(3)]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - id: f\n    url: {feed_server.url('/f.xml')}\n    interval: 5\n")
    env = pipeline_env(kafka_bootstrap, topic_prefix, sqlite_url, feeds)
    running = Pipeline(env).start()
    try:
        running.wait_ready(timeout=90)
        yield running
    finally:
        running.stop()


@pytest.fixture
def prometheus(pipeline: Pipeline, tmp_path: Path) -> Iterator[str]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": f"wirefeed-{name}",
                            "static_configs": [{"targets": [f"127.0.0.1:{pipeline.port(name)}"]}]}
                           for name in SERVICES],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def query(base: str, expression: str) -> list[dict[str, object]]:
    try:
        answer = httpx.get(f"{base}/api/v1/query", params={"query": expression}, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return []
    return list(answer.get("data", {}).get("result", []))


def test_promtool_accepts_every_service_s_live_metrics(pipeline: Pipeline) -> None:
    for name in SERVICES:
        text = httpx.get(f"http://127.0.0.1:{pipeline.port(name)}/metrics", timeout=5).text
        lint = subprocess.run([tool("promtool"), "check", "metrics"], input=text, capture_output=True,
                              text=True, timeout=60, check=False)
        assert lint.returncode == 0, f"{name}: {lint.stdout}{lint.stderr}"


def test_prometheus_scrapes_the_pipeline_and_loads_the_rules(prometheus: str) -> None:
    wait_for(lambda: len([r for r in query(prometheus, "up == 1")]) == 3, timeout=60,
             message="three targets up")
    wait_for(lambda: query(prometheus, "sum(wirefeed_poller_items_published_total) >= 3"), timeout=60,
             message="the poller's items in Prometheus")
    wait_for(lambda: query(prometheus, 'sum(wirefeed_sink_rows_written_total{outcome="inserted"}) >= 3'),
             timeout=60, message="the sink's rows in Prometheus")
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    loaded = [rule for group in rules for rule in group["rules"]]
    assert loaded and all(rule.get("health") in ("ok", "unknown") for rule in loaded)
    assert any(rule["type"] == "alerting" for rule in loaded)
