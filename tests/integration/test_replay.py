"""Replay re-normalizes the raw topic from a point in time into another topic, on the real broker."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import Article
from services.core.config import CommonSettings
from services.core.kafka import admin_client, make_producer
from tests.factories import raw_item
from tests.helpers import wait_for
from tests.integration.kafka_helpers import read_all, settings_for

pytestmark = pytest.mark.kafka


def test_replay_from_a_time_publishes_only_what_was_appended_after_it(
        kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    producer = make_producer(settings)
    for n in range(3):
        producer.send(settings.topics.raw_items, key=f"k{n}".encode(), value=raw_item(n).to_bytes()).get(30)
    boundary = datetime.now(UTC)
    wait_for(lambda: datetime.now(UTC).timestamp() - boundary.timestamp() > 0.05, message="the clock to move")
    later = [raw_item(n, title=f"Later story {n}") for n in range(10, 15)]
    for item in later:
        producer.send(settings.topics.raw_items, key=item.item_id.encode(), value=item.to_bytes()).get(30)
    producer.close()
    target = f"{topic_prefix}.articles.v2"
    env = {"WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "WIREFEED_TOPIC_PREFIX": topic_prefix,
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh-dedup.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "replay", "--from", boundary.isoformat(),
                             "--to-topic", target], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replayed 5 raw item(s)" in result.stdout
    articles = [Article.model_validate_json(value) for _, value in read_all(settings, target, 5)]
    assert sorted(a.title for a in articles) == [f"Later story {n}" for n in range(10, 15)]
    assert len(read_all(settings, target, 6, timeout=3)) == 5  # the three earlier items were not replayed


def test_replay_of_a_raw_topic_that_is_not_there_fails_and_creates_nothing(
        kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    env = {"WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "WIREFEED_TOPIC_PREFIX": topic_prefix,
           "WIREFEED_DATABASE_URL": f"sqlite:///{tmp_path / 'dedup.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "replay", "--from", "2024-01-01"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout  # not "replayed 0 raw item(s)", as if all were well
    assert result.stderr.splitlines()[-1] == (
        f"wirefeed: topic {topic_prefix}.raw-items.v1 does not exist (or this login may not see it): check "
        f"WIREFEED_TOPIC_PREFIX (now '{topic_prefix}'); the services create their topics when they start, "
        "commands do not")
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix)  # type: ignore[call-arg]
    with admin_client(settings) as admin:  # a wrong prefix's articles and dead-letter topics are not made
        assert not [topic for topic in admin.list_topics() if topic.startswith(f"{topic_prefix}.")]
