"""Wire copy delivered as files into a spool directory, through the whole pipeline on real Kafka."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.core.supervise import Pipeline, metric_total, scrape
from tests.helpers import CORPUS, pipeline_env, stored_articles, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

FIXTURES = CORPUS / "superdesk-core" / "tests" / "io" / "fixtures"


def stored(port: int) -> float:
    return metric_total(scrape(port), "wirefeed_sink_rows_written_total", outcome="inserted")


def test_files_delivered_into_a_spool_directory_are_stored_once_and_moved_on(
        kafka_bootstrap: str, topic_prefix: str, sqlite_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "reuters"
    spool.mkdir()
    # Delivered before the poller starts: two stories as the agency names them, and a broken upload.
    shutil.copyfile(FIXTURES / "tag_reuters.com_2014_newsml_KBN0FL0NM_version_10", spool / "KBN0FL0NM_10")
    shutil.copyfile(FIXTURES / "efe_nitf.xml", spool / "22751909.xml")
    (spool / "cut-short.xml").write_bytes(b"<?xml version='1.0'?><nitf><head><title>Cut")
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(f"feeds:\n  - id: reuters-spool\n    url: {spool.as_uri()}/\n    interval: 5\n")
    env = pipeline_env(kafka_bootstrap, topic_prefix, sqlite_url, feeds_file, WIREFEED_SPOOL_SETTLE_SECONDS="0.5")
    pipeline = Pipeline(env).start()
    try:
        pipeline.wait_ready(timeout=90)
        sink_port = pipeline.port("sink")
        wait_for(lambda: stored(sink_port) >= 2, timeout=90, message="the two stories stored")
        # Delivered while running, then again (the agency's resend): stored once.
        shutil.copyfile(FIXTURES / "afp.xml", spool / "TX-PAR-FXW86.xml")
        wait_for(lambda: stored(sink_port) >= 3, timeout=60, message="the third story stored")
        shutil.copyfile(FIXTURES / "afp.xml", spool / "TX-PAR-FXW86.xml")
        wait_for(lambda: len(list((spool / "processed").iterdir())) == 4, timeout=60, message="the resend read")
        poller = scrape(pipeline.port("poller"))
        sink_rows = stored(sink_port)
        codes = pipeline.stop()
    finally:
        pipeline.stop()

    assert codes == {"poller": 0, "normalizer": 0, "sink": 0}
    assert sink_rows == 3
    assert metric_total(poller, "wirefeed_poller_spooled_files_total", result="processed") == 4
    assert metric_total(poller, "wirefeed_poller_spooled_files_total", result="failed") == 1
    assert sorted(p.name for p in (spool / "failed").iterdir()) == ["cut-short.xml", "cut-short.xml.error"]
    assert sorted(p.name for p in spool.iterdir()) == ["failed", "processed"]
    articles = stored_articles(sqlite_url)
    assert sorted(a.title for a in articles) == ["Confident Assad launches new term in stronger position",
                                                  "Honduran president announces Cabinet changes",
                                                  "Sweden court accepts receivership for Saab carmaker"]
    assert {a.feed_id for a in articles} == {"reuters-spool"}
    assert all(a.source.url is None and a.url is None for a in articles)  # articles carry no local path
