"""Two normalizer replicas in one consumer group on the real broker: copies of one story that land on
different partitions (so on different replicas, at the same time) still end as one story."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from schemas import Article
from services.core.kafka import make_producer
from tests.factories import raw_item
from tests.integration.kafka_helpers import read_all, settings_for
from tests.reliability.harness import pipeline

pytestmark = pytest.mark.kafka

WORDS = ("council", "budget", "harbour", "ferry", "strike", "union", "talks", "minister", "river", "flood",
         "bridge", "vote", "court", "ruling", "energy", "prices", "school", "teachers", "hospital", "nurses",
         "railway", "tunnel", "election", "mayor", "port", "cargo")


def story_text(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(40)) + f" story{n} paragraph{p}." for p in range(4)]


def test_copies_racing_on_two_replicas_get_one_story_id(kafka_bootstrap: str, topic_prefix: str,
                                                        postgres_url: str) -> None:
    rng = random.Random(7)
    settings = settings_for(kafka_bootstrap, topic_prefix, postgres_url)
    stories = {n: story_text(rng, n) for n in range(30)}
    producer = make_producer(settings)
    sent = 0
    for n, paragraphs in stories.items():
        for outlet in range(3):  # three outlets: each trims a different paragraph and adds its own footer
            kept = [p for i, p in enumerate(paragraphs) if i != outlet]
            body = "".join(f"<p>{p}</p>" for p in kept) + f"<p>Outlet {outlet} footer for readers.</p>"
            item = raw_item(n, feed_id=f"outlet-{outlet}", body=body, title=f"Story {n} headline")
            producer.send(settings.topics.raw_items, key=item.item_id.encode(), value=item.to_bytes())
            sent += 1
    producer.flush()
    producer.close()
    env = {"WIREFEED_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "WIREFEED_TOPIC_PREFIX": topic_prefix,
           "WIREFEED_DATABASE_URL": postgres_url, "WIREFEED_MAX_BATCH": "5", "WIREFEED_LOG_LEVEL": "WARNING"}
    with pipeline(env, services=("normalizer",)), pipeline(env, services=("normalizer",)):
        articles = [Article.model_validate_json(v) for _, v in read_all(settings, settings.topics.articles, sent,
                                                                         timeout=90)]
    by_story: defaultdict[str, set[str]] = defaultdict(set)
    for article in articles:
        by_story[article.title.split(" headline")[0]].add(article.story_id)
    assert len(articles) == sent  # every outlet's copy published (as a copy), none dropped
    assert all(len(ids) == 1 for ids in by_story.values()), {k: v for k, v in by_story.items() if len(v) > 1}
    assert len({next(iter(ids)) for ids in by_story.values()}) == len(stories)  # and stories stay apart
