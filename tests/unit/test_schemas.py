import json
import logging

import pytest
from pydantic import ValidationError

from schemas import TOPIC_MODELS, Article, RawItem, SchemaVersionError
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


def _raw_item(**extra: object) -> dict[str, object]:
    return {"item_id": "f:1", "feed_id": "f", "feed_url": "https://f.example/feed", "format": "rss",
            "fetched_at": "2024-01-01T00:00:00Z", "content_hash": "h", **extra}


def test_a_message_from_a_newer_producer_is_read_without_its_new_fields() -> None:
    # What an upgraded poller may send to a normalizer not upgraded yet: adding an optional field is
    # compatible, so it must not be dead-lettered.
    newer = _raw_item(added_later="x", enclosures=[{"url": "https://f.example/a.mp3", "codec": "opus"}])
    item = RawItem.from_json(json.dumps(newer))
    assert item.item_id == "f:1" and item.enclosures[0].url == "https://f.example/a.mp3"
    assert RawItem.from_data(newer) == item
    assert "added_later" in newer  # the caller's data is left alone


def test_each_unknown_field_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    # Names no other test uses: what was reported stays reported for the process.
    newer = _raw_item(added_in_v9="x", enclosures=[{"url": "https://f.example/a", "bitrate_v9": 96},
                                                   {"url": "https://f.example/b", "bitrate_v9": 320}])
    with caplog.at_level(logging.WARNING, logger="schemas.models"):
        RawItem.from_json(json.dumps(newer))
        RawItem.from_data(newer)
    assert sorted(record.getMessage() for record in caplog.records) == [
        f"RawItem field {name!r} is unknown to this version and not read by it (a producer is newer than this "
        "service; logged once per field)" for name in ("added_in_v9", "enclosures.[].bitrate_v9")]


def test_a_message_that_is_wrong_otherwise_is_still_refused() -> None:
    with pytest.raises(ValidationError):
        RawItem.from_json(json.dumps(_raw_item(added_later="x", fetched_at="not a time")))
    with pytest.raises(ValidationError):
        RawItem.from_json(json.dumps({"added_later": "x"}))
    with pytest.raises(ValidationError):  # built in code, a misspelt field fails at once
        RawItem(**_raw_item(feed_titel="x"))  # type: ignore[arg-type]


@pytest.mark.parametrize("topic", sorted(TOPIC_MODELS))
def test_the_published_schemas_let_consumers_accept_fields_added_later(topic: str) -> None:
    assert '"additionalProperties": false' not in schema_path(topic).read_text()


def test_a_lone_surrogate_is_sent_as_the_replacement_character() -> None:
    # Half an emoji ("\ud83d" alone) cannot be UTF-8: serialising it failed, and with it every publish of
    # the item's feed
    item = RawItem(item_id="f:1", feed_id="f", feed_url="https://ex.com/feed", format="jsonfeed",
                   fetched_at="2024-01-01T00:00:00Z", content_hash="0", title="Cut \ud83d", categories=["\udfff"])
    read = RawItem.from_json(item.to_bytes())
    assert (read.title, read.categories) == ("Cut \ufffd", ["\ufffd"])


def test_a_lone_surrogate_another_producer_sent_is_read_as_the_replacement_character() -> None:
    # Read as it is, it would reach a store that cannot hold it (PostgreSQL refuses it, every retry)
    sent = json.dumps(_raw_item(title="T")).replace('"T"', r'"Cut \ud83d, whole \ud83d\ude00, written \\ud83d"')
    assert RawItem.from_json(sent.encode()).title == "Cut \ufffd, whole \U0001f600, written \\ud83d"
    with pytest.raises(ValidationError):
        RawItem.from_json(sent.replace('"format": "rss"', '"format": 5').encode())  # still refused when wrong


@pytest.mark.parametrize("topic", sorted(TOPIC_MODELS))
def test_a_topic_schema_admits_its_own_version_only(topic: str) -> None:
    properties = json.loads(schema_path(topic).read_text())["properties"]
    assert properties["schema_version"]["const"] == int(topic.rsplit(".v", 1)[-1])


@pytest.mark.parametrize("version", [2, 99, 0, "1", None])
def test_a_message_of_another_version_is_refused_saying_so(version: object) -> None:
    # Read as version 1, a version 2 message would be taken for what it is not: its fields may mean other things
    other = _raw_item(schema_version=version, added_in_v2="x")  # a newer field too: the version is what matters
    for read in (lambda: RawItem.from_json(json.dumps(other)), lambda: RawItem.from_data(other)):
        with pytest.raises(SchemaVersionError, match=rf"RawItem of schema_version {version!r} refused: this topic "
                                                     "carries version 1 only"):
            read()
    assert RawItem.from_json(json.dumps(_raw_item(schema_version=1))).schema_version == 1
    assert RawItem.from_json(json.dumps(_raw_item())).schema_version == 1  # absent: a v1 producer's default
