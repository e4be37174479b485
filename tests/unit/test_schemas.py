import json

import pytest

from schemas import TOPIC_MODELS, Article
from schemas.generate import render, schema_path


@pytest.mark.parametrize("topic", sorted(TOPIC_MODELS))
def test_committed_json_schema_matches_the_model(topic: str) -> None:
    committed = schema_path(topic).read_text()
    assert committed == render(topic), f"schemas/{topic}.schema.json is stale: run `make schemas`"


def test_every_topic_carries_a_version_in_its_name() -> None:
    assert all(topic.rsplit(".", 1)[-1].startswith("v") for topic in TOPIC_MODELS)


def test_article_schema_lists_the_fields_downstream_consumers_rely_on() -> None:
    properties = json.loads(schema_path("articles.v1").read_text())["properties"]
    for name in ("id", "story_id", "version", "duplicate_of", "similarity", "feed_id", "source", "url",
                 "canonical_url", "title", "summary", "body_text", "body_html", "language", "published_at",
                 "updated_at", "fetched_at", "dateline", "agency", "byline", "credits", "categories",
                 "pubstatus", "embargoed_until", "urgency", "wire_prefixes"):
        assert name in properties, name
    assert set(Article.model_fields) == set(properties)
