"""Messages are fitted to the Kafka message size limit before a producer sees them.

A record the broker refuses as too large leaves kafka-python's idempotent producer failing every later
send (tests/integration/test_message_size.py shows it with the real broker), so no stage may send one.
"""

from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import REGISTRY

from schemas import DeadLetter
from services.core.config import CommonSettings
from services.core.dead_letters import original_value, unsendable
from services.core.kafka import dead_letter, fit_message
from tests.factories import article, raw_item

LIMIT = 100_000


def _shortened(stage: str, field: str) -> float:
    return REGISTRY.get_sample_value("wirefeed_messages_shortened_total", {"stage": stage, "field": field}) or 0.0


def test_a_message_within_the_limit_is_the_same_message() -> None:
    item = raw_item(1)
    fitted, value = fit_message(item, LIMIT, "poller", drop=("original",), cut=("content_html",))
    assert fitted is item and value == item.to_bytes()


def test_a_raw_item_loses_its_source_fragment_before_any_of_its_text() -> None:
    body = "<p>" + "ünïcode wörds " * 3_000 + "</p>"  # ~45 KB of HTML, twice the bytes of its length in ASCII
    item = raw_item(1, body=body).model_copy(update={"original": "<item>" + "x" * 80_000 + "</item>"})
    before = _shortened("poller", "original")
    fitted, value = fit_message(item, LIMIT, "poller", drop=("original",), cut=("content_html", "summary_html"))
    assert fitted.original is None and fitted.content_html == body
    assert len(fitted.to_bytes()) <= LIMIT and value == fitted.to_bytes()
    assert _shortened("poller", "original") == before + 1


def test_text_is_cut_to_fit_whatever_its_characters_take() -> None:
    for word in ("plain ", "ünïcödé ", "中文字符 ", '"quoted" \\ '):  # 1, 2, 3 bytes a character, JSON escapes
        body = "<p>" + word * (300_000 // len(word)) + "</p>"
        fitted, _ = fit_message(raw_item(1, body=body), LIMIT, "poller", drop=("original",),
                                cut=("content_html", "summary_html"))
        assert LIMIT - 2_000 < len(fitted.to_bytes()) <= LIMIT, word
        assert fitted.content_html and body.startswith(fitted.content_html)


def test_an_article_keeps_its_clean_text_and_gives_up_its_html_first() -> None:
    text = "A long report. " * 5_000  # 75 KB: text and HTML together are 150 KB
    fitted, _ = fit_message(article(1, body=text), LIMIT, "normalizer", drop=("body_html",),
                            cut=("body_text", "summary"))
    assert (fitted.body_html, fitted.body_text) == ("", text)
    huge, _ = fit_message(article(2, body=text * 3), LIMIT, "normalizer", drop=("body_html",),
                          cut=("body_text", "summary"))
    assert huge.body_html == "" and (text * 3).startswith(huge.body_text) and len(huge.to_bytes()) <= LIMIT


def test_a_dead_letter_too_large_keeps_its_reason_and_the_start_of_its_payload() -> None:
    value = b'{"title": "' + b"x" * 150_000 + b'"}'
    record = ConsumerRecord(topic="t.raw-items.v1", partition=2, leader_epoch=None, offset=7, timestamp=0,
                            timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                            serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)
    letter = dead_letter("normalizer", record, ValueError("no body"), max_bytes=LIMIT)
    assert len(letter.to_bytes()) <= LIMIT
    assert (letter.reason, letter.offset, letter.details["payload_bytes"]) == ("no body", 7, len(value))
    assert value.decode().startswith(letter.payload) and len(letter.payload) > LIMIT // 2
    assert DeadLetter.model_validate_json(letter.to_bytes()) == letter
    small = dead_letter("normalizer", record, ValueError("no body"))  # the default limit: nothing to cut
    assert small.payload == value.decode() and "payload_bytes" not in small.details


def _record(value: bytes) -> ConsumerRecord:
    return ConsumerRecord(topic="t.raw-items.v1", partition=0, leader_epoch=None, offset=3, timestamp=0,
                          timestamp_type=0, key=b"k", value=value, headers=[], checksum=None,
                          serialized_key_size=1, serialized_value_size=len(value), serialized_header_size=-1)


def test_a_dead_letter_keeps_a_value_that_is_not_utf8_whole_and_shortens_its_text_first() -> None:
    # Decoded with replacement alone, the bytes were gone and a redrive sent back others
    latin1 = '{"title": "Gerät für Zürich"}'.encode("latin-1")
    letter = dead_letter("normalizer", _record(latin1), ValueError("bad"))
    assert (original_value(letter), letter.payload) == (latin1, '{"title": "Ger\ufffdt f\ufffdr Z\ufffdrich"}')
    assert original_value(dead_letter("normalizer", _record(b'{"t": "\xc3\xa9"}'), ValueError("bad"))) == (
        b'{"t": "\xc3\xa9"}')  # UTF-8: its text is its bytes, no base64 beside it
    large = b"\xff" + b"x" * 60_000  # its text and base64 do not both fit, its base64 does
    letter = dead_letter("normalizer", _record(large), ValueError("bad"), max_bytes=LIMIT)
    assert len(letter.to_bytes()) <= LIMIT and original_value(DeadLetter.from_json(letter.to_bytes())) == large
    assert unsendable(letter, CommonSettings(topic_prefix="t")) is None


def test_a_dead_letter_of_a_value_too_large_even_in_base64_names_it_only_and_is_not_sent_back() -> None:
    huge = b"\xff" + b"x" * 90_000
    letter = dead_letter("normalizer", _record(huge), ValueError("bad"), max_bytes=LIMIT)
    assert len(letter.to_bytes()) <= LIMIT and letter.payload_base64 is None
    assert letter.payload.startswith("\ufffd" + "x" * 1_000) and len(letter.payload) > LIMIT // 2  # to read
    assert unsendable(letter, CommonSettings(topic_prefix="t")) == "payload shortened to fit the dead-letter topic"
