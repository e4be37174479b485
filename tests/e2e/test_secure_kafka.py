"""A cluster as production runs one: TLS with client certificates and a SASL login (``kafka.sh up
--secure``), on real Apache Kafka."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
)
from pydantic import SecretStr

from services.core.config import CommonSettings
from services.core.dead_letters import LetterReader, Selection
from services.core.errors import KafkaUnavailableError, TopicLimitError, TopicsNotCreatedError
from services.core.kafka import connection, ensure_topics, make_consumer, make_producer
from services.core.supervise import Pipeline, metric_total, scrape
from tests.certificates import self_signed_certificate
from tests.conftest import KAFKA_SCRIPT
from tests.e2e.test_pipeline import OUTLET_A, OUTLET_B
from tests.helpers import FeedServer, Resource, free_port, rss, wait_for, wirefeed_process
from tests.integration.kafka_helpers import message_limit
from tests.oauth_server import TokenEndpoint, running_token_endpoint, signed_jwt

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


class SecureCluster:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bootstrap = subprocess.run(
            [str(KAFKA_SCRIPT), "up", "--secure", "--dir", str(directory), "--port", str(_two_free_ports())],
            check=True, capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
        lines = (directory / "client.env").read_text().splitlines()
        self.env = dict(line.split("=", 1) for line in lines if line)  # the WIREFEED_KAFKA_* a client needs
        self.env["WIREFEED_KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap

    def settings(self, prefix: str, **changes: object) -> CommonSettings:
        values = {key.removeprefix("WIREFEED_").lower(): value for key, value in self.env.items()}
        return CommonSettings(**{**values, "topic_prefix": prefix, **changes})  # type: ignore[arg-type]

    @property
    def limited_password(self) -> str:
        return (self.directory / "tls" / "limited-password").read_text().strip()

    @property
    def limited_env(self) -> dict[str, str]:
        """The services' settings for the login that may do only what ACLs grant it."""
        return {**self.env, "WIREFEED_KAFKA_SASL_USERNAME": "limited", "WIREFEED_KAFKA_SASL_MECHANISM":
                "SCRAM-SHA-512", "WIREFEED_KAFKA_SASL_PASSWORD": self.limited_password}

    def limited_settings(self, prefix: str) -> CommonSettings:
        """The login that may do only what ACLs grant it."""
        return self.settings(prefix, kafka_sasl_username="limited", kafka_sasl_password=self.limited_password,
                             kafka_sasl_mechanism="SCRAM-SHA-512")

    def oauth_env(self, endpoint: TokenEndpoint, client_id: str = "wirefeed") -> dict[str, str]:
        """The login by OAUTHBEARER instead: the token endpoint's client credentials, no user or password."""
        env = {k: v for k, v in self.env.items() if not k.startswith("WIREFEED_KAFKA_SASL_")}
        return {**env, "WIREFEED_KAFKA_SASL_MECHANISM": "OAUTHBEARER", "WIREFEED_KAFKA_OAUTH_TOKEN_URL": endpoint.url,
                "WIREFEED_KAFKA_OAUTH_CLIENT_ID": client_id, "WIREFEED_KAFKA_OAUTH_CLIENT_SECRET": "client-s3cret",
                "WIREFEED_KAFKA_OAUTH_SCOPE": "kafka", "SSL_CERT_FILE": str(endpoint.certificate),
                # as Confluent Cloud wants them; Kafka's own validator takes any
                "WIREFEED_KAFKA_OAUTH_EXTENSIONS": "logicalCluster=lkc-test,identityPoolId=pool-test"}

    def oauth_settings(self, prefix: str, endpoint: TokenEndpoint, client_id: str) -> CommonSettings:
        env = self.oauth_env(endpoint, client_id)
        values = {key.removeprefix("WIREFEED_").lower(): value for key, value in env.items()
                  if key.startswith("WIREFEED_")}
        return CommonSettings(**{**values, "topic_prefix": prefix})  # type: ignore[arg-type]

    @property
    def oauth_key(self) -> Path:
        """The identity provider's signing key, whose public half the brokers check tokens with."""
        return self.directory / "tls" / "oauth-key.pem"

    def admin(self, prefix: str) -> KafkaAdminClient:
        """An admin client of the super user."""
        return KafkaAdminClient(**connection(self.settings(prefix)))


def _two_free_ports() -> int:
    """A port P with P + 1 free too (the node's client and controller listeners)."""
    for _ in range(50):
        port = free_port()
        if port == 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureCluster]:
    directory = tmp_path_factory.mktemp("kafka-secure")
    cluster = SecureCluster(directory)
    yield cluster
    subprocess.run([str(KAFKA_SCRIPT), "down", "--dir", str(directory), "--wipe"], check=True, timeout=120)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_every_client_logs_in_over_tls(secure_cluster: SecureCluster, topic_prefix: str, mechanism: str) -> None:
    assert round_trip(secure_cluster.settings(topic_prefix, kafka_sasl_mechanism=mechanism), b"over tls") \
        == b"over tls"


def round_trip(settings: CommonSettings, message: bytes) -> bytes:
    """What a consumer reads of ``message`` sent to a topic the admin client made: all three clients log in."""
    ensure_topics(settings, [settings.topics.raw_items])
    producer = make_producer(settings)
    producer.send(settings.topics.raw_items, message, key=b"k").get(timeout=30)
    producer.close()
    consumer = make_consumer(settings, f"{settings.topic_prefix}-reader", consumer_timeout_ms=30_000)
    consumer.subscribe([settings.topics.raw_items])
    try:
        value: bytes = next(iter(consumer)).value
        return value
    finally:
        consumer.close(autocommit=False)


@pytest.fixture
def token_endpoint(secure_cluster: SecureCluster, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenEndpoint]:
    """An identity provider's token endpoint handing out JWTs for "wirefeed" that the cluster trusts."""
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trusted as a private CA is
    with running_token_endpoint(certificate, signed_jwt(secure_cluster.oauth_key, "wirefeed")) as endpoint:
        yield endpoint


def test_an_oauthbearer_login_with_a_token_from_the_identity_provider(
        secure_cluster: SecureCluster, topic_prefix: str, token_endpoint: TokenEndpoint) -> None:
    settings = secure_cluster.oauth_settings(topic_prefix, token_endpoint, f"{topic_prefix}-client")
    assert round_trip(settings, b"with a token") == b"with a token"
    assert len(token_endpoint.forms) == 1  # one token for the admin client, the producer and the consumer
    assert token_endpoint.forms[0] == {"grant_type": "client_credentials", "client_id": f"{topic_prefix}-client",
                                       "client_secret": "client-s3cret", "scope": "kafka"}


@pytest.mark.parametrize(("token", "cause"), [
    (lambda key: signed_jwt(None, "wirefeed"), "signed by a key the brokers do not trust"),
    (lambda key: signed_jwt(key, "wirefeed", audience="another-service"), "meant for another audience"),
    (lambda key: signed_jwt(key, "wirefeed", lifetime=-600), "expired"),
])
def test_a_token_the_brokers_do_not_accept_is_refused(
        secure_cluster: SecureCluster, topic_prefix: str, token_endpoint: TokenEndpoint,
        token: Callable[[Path], str], cause: str) -> None:
    token_endpoint.access_token = token(secure_cluster.oauth_key)
    settings = secure_cluster.oauth_settings(topic_prefix, token_endpoint, f"{topic_prefix}-refused")
    with pytest.raises(KafkaUnavailableError, match="WIREFEED_KAFKA_SECURITY_PROTOCOL"):
        ensure_topics(settings, [settings.topics.raw_items], bootstrap_timeout_ms=5_000)
    assert token_endpoint.forms, cause


@pytest.mark.parametrize(("change", "cause"), [
    ({"kafka_sasl_password": SecretStr("not-the-password")}, "a refused login"),
    ({"kafka_ssl_cafile": None}, "a certificate the system's CAs do not know"),
    ({"kafka_ssl_certfile": None, "kafka_ssl_keyfile": None, "kafka_ssl_key_password": None},
     "no client certificate"),
    ({"kafka_security_protocol": "PLAINTEXT", "kafka_sasl_username": None, "kafka_sasl_password": None,
      "kafka_ssl_cafile": None, "kafka_ssl_certfile": None, "kafka_ssl_keyfile": None,
      "kafka_ssl_key_password": None}, "a plaintext client"),
])
def test_a_client_that_cannot_open_a_session_says_what_to_check(
        secure_cluster: SecureCluster, topic_prefix: str, change: dict[str, object], cause: str) -> None:
    settings = secure_cluster.settings(topic_prefix, **change)
    with pytest.raises(KafkaUnavailableError, match="WIREFEED_KAFKA_SECURITY_PROTOCOL") as raised:
        ensure_topics(settings, [settings.topics.raw_items], bootstrap_timeout_ms=5_000)
    assert "not-the-password" not in str(raised.value), cause


def test_dead_letters_list_says_what_to_check_when_no_session_opens(secure_cluster: SecureCluster,
                                                                     topic_prefix: str) -> None:
    # Its consumer's "Unable to bootstrap" was a traceback after 30 s; `positions` already said this.
    settings = secure_cluster.settings(topic_prefix, kafka_security_protocol="PLAINTEXT", kafka_sasl_username=None,
                                       kafka_sasl_password=None, kafka_ssl_cafile=None, kafka_ssl_certfile=None,
                                       kafka_ssl_keyfile=None, kafka_ssl_key_password=None)
    with pytest.raises(KafkaUnavailableError, match="WIREFEED_KAFKA_SECURITY_PROTOCOL"):
        list(LetterReader(settings, Selection()))


def services_env(env: dict[str, str], topic_prefix: str, sqlite_url: str, tmp_path: Path,
                 feed_server: FeedServer, *, interval: float = 300) -> dict[str, str]:
    """The three services' settings, with this Kafka login, on two outlets' feeds polled every ``interval``."""
    feed_server.resources["/a.xml"] = Resource(rss("Outlet A", OUTLET_A))
    feed_server.resources["/b.xml"] = Resource(rss("Outlet B", OUTLET_B))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - id: outlet-{n}\n    url: {feed_server.url(f'/{n}.xml')}\n"
                                          f"    interval: {interval}\n" for n in ("a", "b")))
    return {
        **env, "WIREFEED_TOPIC_PREFIX": topic_prefix, "WIREFEED_DATABASE_URL": sqlite_url,
        "WIREFEED_FEEDS_FILE": str(feeds), "WIREFEED_ALLOW_PRIVATE_NETWORKS": "true",
        **{f"WIREFEED_{name.upper()}_METRICS_PORT": str(free_port()) for name in ("poller", "normalizer", "sink")},
    }


def start_pipeline(env: dict[str, str], topic_prefix: str, sqlite_url: str, tmp_path: Path,
                   feed_server: FeedServer) -> Pipeline:
    """Poller, normalizer and sink as processes with this Kafka login, on two outlets' feeds."""
    return Pipeline(services_env(env, topic_prefix, sqlite_url, tmp_path, feed_server)).start()


def articles_stored(sink_port: int) -> float:
    try:
        return metric_total(scrape(sink_port), "wirefeed_sink_rows_written_total", outcome="inserted")
    except httpx.HTTPError:  # not serving yet, or restarting
        return 0


def stores_articles_and_stops_cleanly(pipeline: Pipeline) -> None:
    """The pipeline becomes ready, stores the two outlets' three articles, and stops with exit codes 0."""
    try:
        pipeline.wait_ready(timeout=90)
        wait_for(lambda: articles_stored(pipeline.port("sink")) >= 3, timeout=90, message="three articles stored")
    finally:
        codes = pipeline.stop()
    assert codes == {"poller": 0, "normalizer": 0, "sink": 0}


def live(port: int) -> bool | None:
    """What the service's /healthz says; None while it does not answer."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return None


def readiness(pipeline: Pipeline, name: str) -> dict[str, bool]:
    """The service's /readyz checks; none while it is not serving yet."""
    try:
        return dict(httpx.get(f"http://127.0.0.1:{pipeline.port(name)}/readyz", timeout=5).json()["checks"])
    except httpx.HTTPError:
        return {}


def test_the_pipeline_runs_on_a_cluster_with_tls_and_a_login(
        secure_cluster: SecureCluster, topic_prefix: str, sqlite_url: str, tmp_path: Path,
        feed_server: FeedServer) -> None:
    stores_articles_and_stops_cleanly(start_pipeline(secure_cluster.env, topic_prefix, sqlite_url, tmp_path,
                                                     feed_server))


def test_the_pipeline_runs_with_an_oauthbearer_login(
        secure_cluster: SecureCluster, topic_prefix: str, sqlite_url: str, tmp_path: Path, feed_server: FeedServer, *,
        token_endpoint: TokenEndpoint) -> None:
    stores_articles_and_stops_cleanly(start_pipeline(secure_cluster.oauth_env(token_endpoint), topic_prefix,
                                                     sqlite_url, tmp_path, feed_server))
    assert len(token_endpoint.forms) >= 3  # each service asked for its own


#: What README's "Kafka ACLs" lists, on the resources whose names start with the topic prefix.
SERVICE_ACLS = {
    ResourceType.TOPIC: (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.CREATE, ACLOperation.DESCRIBE_CONFIGS,
                         ACLOperation.ALTER_CONFIGS),
    ResourceType.GROUP: (ACLOperation.READ,),
}


def test_the_pipeline_needs_no_more_than_the_acls_the_readme_lists(
        secure_cluster: SecureCluster, topic_prefix: str, sqlite_url: str, tmp_path: Path,
        feed_server: FeedServer) -> None:
    env = secure_cluster.limited_env
    admin = secure_cluster.admin(topic_prefix)
    try:
        # Without Write and the groups' Read, the broker answers but refuses the poller's sends and the
        # consumers' polls: /readyz must say so (a TCP check alone would call them ready). An idempotent
        # producer refused its producer id is broken for good, so /healthz fails too: a restart mends it.
        grant(admin, topic_prefix, *(op for op in SERVICE_ACLS[ResourceType.TOPIC] if op != ACLOperation.WRITE))
        refused = start_pipeline(env, topic_prefix, sqlite_url, tmp_path, feed_server)
        try:
            for name, check in (("poller", "publishing"), ("normalizer", "consuming"), ("sink", "consuming")):
                wait_for(lambda name=name, check=check: readiness(pipeline=refused, name=name).get(check) is False,
                         timeout=60, message=f"{name}'s /readyz to say Kafka refuses it ({check})")
            wait_for(lambda: live(refused.port("poller")) is False, timeout=30,
                     message="the poller's /healthz to fail")
        finally:
            refused.stop()
        grant(admin, topic_prefix, ACLOperation.WRITE)
        grant(admin, topic_prefix, *SERVICE_ACLS[ResourceType.GROUP], resource=ResourceType.GROUP)
    finally:
        admin.close()
    # A database of its own: the first run's feeds back off after their refused publishes.
    stores_articles_and_stops_cleanly(start_pipeline(env, topic_prefix, f"sqlite:///{tmp_path / 'granted.db'}",
                                                     tmp_path, feed_server))


def grant(admin: KafkaAdminClient, prefix: str, *operations: ACLOperation,
          resource: ResourceType = ResourceType.TOPIC) -> None:
    """Let "limited" do these operations on the topics (or groups) whose names start with ``prefix``."""
    pattern = ResourcePattern(resource, prefix, ACLResourcePatternType.PREFIXED)
    result = admin.create_acls([ACL("User:limited", "*", operation, ACLPermissionType.ALLOW, pattern)
                                for operation in operations])
    assert not result["failed"]


def small_topics(admin: KafkaAdminClient, settings: CommonSettings) -> list[str]:
    """The service's topics, made beforehand by someone else with a 100,000-byte message limit."""
    topics = settings.topics.all()
    admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1,
                                 "configs": {"max.message.bytes": "100000"}} for topic in topics})
    admin.wait_for_topics(topics, timeout_ms=30_000)
    return topics


def test_a_login_that_may_not_create_topics_is_told_kafkas_reason(secure_cluster: SecureCluster,
                                                                  topic_prefix: str) -> None:
    limited = secure_cluster.limited_settings(topic_prefix)
    with pytest.raises(TopicsNotCreatedError, match="create them beforehand") as raised:
        ensure_topics(limited, limited.topics.all())
    assert f"{limited.topics.raw_items}: Authorization failed" in str(raised.value)


def test_a_topic_limit_kafka_will_not_raise_is_named_with_the_way_out(secure_cluster: SecureCluster,
                                                                      topic_prefix: str) -> None:
    admin = secure_cluster.admin(topic_prefix)
    try:
        limited = secure_cluster.limited_settings(topic_prefix)
        topics = small_topics(admin, limited)
        grant(admin, topic_prefix, ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS)  # no ALTER_CONFIGS
        with pytest.raises(TopicLimitError, match="lower WIREFEED_MAX_MESSAGE_BYTES") as raised:
            ensure_topics(limited, topics)
        assert f"{limited.topics.raw_items} takes 100,000 bytes" in str(raised.value)
        grant(admin, topic_prefix, ACLOperation.ALTER_CONFIGS)
        ensure_topics(limited, topics)  # now allowed: raised
        assert message_limit(admin, limited.topics.raw_items) == limited.max_message_bytes + 64 * 1024
    finally:
        admin.close()


def test_a_login_that_may_not_read_topic_configs_goes_on(secure_cluster: SecureCluster, topic_prefix: str) -> None:
    admin = secure_cluster.admin(topic_prefix)
    try:
        limited = secure_cluster.limited_settings(topic_prefix)
        topics = small_topics(admin, limited)
        grant(admin, topic_prefix, ACLOperation.DESCRIBE)
        ensure_topics(limited, topics)  # the limits may well be high enough: a warning, not a stop
        assert message_limit(admin, limited.topics.raw_items) == 100_000
    finally:
        admin.close()


@pytest.mark.parametrize(("options", "exit_unhealthy_after"), [
    (["--restart-unhealthy-after", "2"], "600"),  # the option wins over the services' setting
    ([], "2"),                                   # the services' own setting, as Compose or systemd use it
])
def test_wirefeed_run_restarts_a_service_whose_producer_kafka_broke(
        secure_cluster: SecureCluster, topic_prefix: str, sqlite_url: str, tmp_path: Path, feed_server: FeedServer,
        *, options: list[str], exit_unhealthy_after: str) -> None:
    # Refused its producer id (no Write granted yet), an idempotent producer is broken for good: /healthz
    # fails, the service exits (code 70), and `wirefeed run` must restart it until Kafka allows it.
    admin = secure_cluster.admin(topic_prefix)
    try:
        grant(admin, topic_prefix, *(op for op in SERVICE_ACLS[ResourceType.TOPIC] if op != ACLOperation.WRITE))
        grant(admin, topic_prefix, *SERVICE_ACLS[ResourceType.GROUP], resource=ResourceType.GROUP)
        env = {**os.environ, **services_env(secure_cluster.limited_env, topic_prefix, sqlite_url, tmp_path,
                                            feed_server, interval=5),
               "WIREFEED_LOG_FORMAT": "json", "WIREFEED_EXIT_UNHEALTHY_AFTER_SECONDS": exit_unhealthy_after}
        poller_port, sink_port = (int(env[f"WIREFEED_{name}_METRICS_PORT"]) for name in ("POLLER", "SINK"))
        log = tmp_path / "run.log"
        with log.open("wb") as output, wirefeed_process(["run", *options], env, stdout=output,
                                                         stderr=subprocess.STDOUT) as run:
            wait_for(lambda: live(poller_port) is False, timeout=60, message="the poller's producer broken")
            grant(admin, topic_prefix, ACLOperation.WRITE)
            wait_for(lambda: articles_stored(sink_port) >= 1, timeout=120,
                     message="an article stored after the restarts")
            run.send_signal(signal.SIGTERM)
            code = run.wait(60)
    finally:
        admin.close()
    restarted = {(entry["service"], entry["reason"]) for line in log.read_text().splitlines()
                 if line.startswith("{") and (entry := json.loads(line))["event"] == "service_restarted"}
    assert ("poller", "exited unhealthy") in restarted and code == 0

