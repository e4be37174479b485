"""Wire copy collected from an agency's SFTP or FTPS server, and mail from a mailbox (real servers on
127.0.0.1), through the whole pipeline on real Kafka."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from services.core.supervise import Pipeline, metric_total, scrape
from tests.ftp_server import FtpServer, running_ftp_server
from tests.helpers import CORPUS, pipeline_env, stored_articles, wait_for
from tests.imap_server import running_imap_server
from tests.sftp_server import SftpServer, running_sftp_server
from tests.unit.test_poller_imap import press_release

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

FIXTURES = CORPUS / "superdesk-core" / "tests" / "io" / "fixtures"


def stored(port: int) -> float:
    return metric_total(scrape(port), "wirefeed_sink_rows_written_total", outcome="inserted")


def polls(port: int, outcome: str) -> float:
    return metric_total(scrape(port), "wirefeed_poller_fetches_total", outcome=outcome)


@contextmanager
def agency_server(protocol: str, root: Path, folder: Path) -> Iterator[tuple[SftpServer | FtpServer, dict[str, str]]]:
    """The agency's server, and the settings with which the poller trusts it."""
    if protocol == "sftp":
        with running_sftp_server(root, passwords={"newsroom": "s3cret"}) as sftp:
            yield sftp, {"WIREFEED_SFTP_KNOWN_HOSTS": str(sftp.known_hosts(folder))}
    else:  # FTPS, its certificate trusted the way an operator trusts a private CA: OpenSSL's SSL_CERT_FILE
        with running_ftp_server(root, passwords={"newsroom": "s3cret"}, tls_folder=folder) as ftps:
            yield ftps, {"SSL_CERT_FILE": str(folder / "tls-cert.pem")}


@pytest.mark.parametrize("protocol", ["sftp", "ftps"])
def test_files_on_an_agency_server_are_stored_once_across_a_restart(
        protocol: str, kafka_bootstrap: str, topic_prefix: str, sqlite_url: str, tmp_path: Path) -> None:
    outgoing = tmp_path / "server" / "outgoing"
    outgoing.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "tag_reuters.com_2014_newsml_KBN0FL0NM_version_10", outgoing / "KBN0FL0NM_10")
    shutil.copyfile(FIXTURES / "efe_nitf.xml", outgoing / "22751909.xml")
    with agency_server(protocol, tmp_path / "server", tmp_path) as (server, trust):
        feeds_file = tmp_path / "feeds.yaml"
        feeds_file.write_text(
            f"feeds:\n  - id: agency\n    url: {server.url('/outgoing/', user='newsroom')}\n    interval: 5\n"
            "    auth: {type: basic, username: newsroom, password_env: AGENCY_PASSWORD}\n")
        env = pipeline_env(kafka_bootstrap, topic_prefix, sqlite_url, feeds_file, WIREFEED_SPOOL_SETTLE_SECONDS="0.5",
                           AGENCY_PASSWORD="s3cret", **trust)
        pipeline = Pipeline(env).start()
        try:
            pipeline.wait_ready(timeout=90)
            wait_for(lambda: stored(pipeline.port("sink")) >= 2, timeout=90, message="the two stories stored")
            shutil.copyfile(FIXTURES / "afp.xml", outgoing / "TX-PAR-FXW86.xml")  # uploaded while running
            wait_for(lambda: stored(pipeline.port("sink")) >= 3, timeout=60, message="the third story stored")
            first_codes = pipeline.stop()
        finally:
            pipeline.stop()
        downloads = list(server.opened)

        pipeline = Pipeline(env).start()  # the same state: nothing is read or stored again
        try:
            pipeline.wait_ready(timeout=90)
            poller_port = pipeline.port("poller")
            wait_for(lambda: polls(poller_port, "not_modified") >= 2, timeout=60, message="two polls after restart")
            sink_rows = stored(pipeline.port("sink"))
            second_codes = pipeline.stop()
        finally:
            pipeline.stop()

    assert first_codes == second_codes == {"poller": 0, "normalizer": 0, "sink": 0}
    assert sorted(downloads) == ["22751909.xml", "KBN0FL0NM_10", "TX-PAR-FXW86.xml"]
    assert server.opened == downloads and sink_rows == 0
    assert sorted(p.name for p in outgoing.iterdir()) == ["22751909.xml", "KBN0FL0NM_10", "TX-PAR-FXW86.xml"]
    articles = stored_articles(sqlite_url)
    assert sorted(a.title for a in articles) == ["Confident Assad launches new term in stronger position",
                                                  "Honduran president announces Cabinet changes",
                                                  "Sweden court accepts receivership for Saab carmaker"]
    assert {a.feed_id for a in articles} == {"agency"}


def test_messages_in_a_mailbox_are_stored_once_as_articles(
        kafka_bootstrap: str, topic_prefix: str, sqlite_url: str, tmp_path: Path) -> None:
    with running_imap_server(tmp_path, user="desk", password="s3cret", implicit_tls=True) as server:
        server.deliver((FIXTURES / "simple_email.txt").read_bytes(), age=120)
        server.deliver(press_release("Acme opens plant in Leeds"), age=60)
        feeds_file = tmp_path / "feeds.yaml"
        feeds_file.write_text(
            f"feeds:\n  - id: desk-mail\n    url: {server.url('INBOX')}\n    interval: 5\n    title: Press releases\n"
            "    auth: {type: basic, username: desk, password_env: DESK_MAIL_PASSWORD}\n")
        env = pipeline_env(kafka_bootstrap, topic_prefix, sqlite_url, feeds_file, WIREFEED_SPOOL_SETTLE_SECONDS="0.5",
                           DESK_MAIL_PASSWORD="s3cret", SSL_CERT_FILE=str(tmp_path / "tls-cert.pem"))
        pipeline = Pipeline(env).start()
        try:
            pipeline.wait_ready(timeout=90)
            wait_for(lambda: stored(pipeline.port("sink")) >= 2, timeout=90, message="the two messages stored")
            poller_port = pipeline.port("poller")
            polled = polls(poller_port, "not_modified")
            wait_for(lambda: polls(poller_port, "not_modified") >= polled + 2, timeout=60, message="two more polls")
            sink_rows = stored(pipeline.port("sink"))
            codes = pipeline.stop()
        finally:
            pipeline.stop()
        unseen = server.unseen()

    assert codes == {"poller": 0, "normalizer": 0, "sink": 0}
    assert sink_rows == 2 and unseen == 2
    articles = stored_articles(sqlite_url)
    assert sorted(a.title for a in articles) == ["Acme opens plant in Leeds", "Test message 1234"]
    acme = next(a for a in articles if a.title.startswith("Acme"))
    assert acme.source.name == "Press releases" and "plant in Leeds" in acme.body_text
