"""How the services reach Kafka: the login and TLS settings, checked when the settings are read, and given
to every client. tests/e2e/test_secure_kafka.py runs them against a cluster with TLS and a login."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.core.config import CommonSettings
from services.core.kafka import connection

SERVICES = Path(__file__).resolve().parents[2] / "services"


def test_a_plaintext_cluster_needs_nothing_more() -> None:
    assert connection(CommonSettings(kafka_bootstrap_servers="k1:9092,k2:9092")) == {
        "bootstrap_servers": ["k1:9092", "k2:9092"], "security_protocol": "PLAINTEXT"}


def test_a_login_over_tls_reaches_the_client_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    for name, value in {"BOOTSTRAP_SERVERS": "kafka.example:9093", "SECURITY_PROTOCOL": "SASL_SSL",
                        "SASL_USERNAME": "wirefeed", "SASL_PASSWORD": "s3cret", "SSL_CAFILE": str(ca)}.items():
        monkeypatch.setenv(f"WIREFEED_KAFKA_{name}", value)
    settings = CommonSettings()
    assert "s3cret" not in repr(settings)
    assert connection(settings) == {
        "bootstrap_servers": ["kafka.example:9093"], "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "wirefeed", "sasl_plain_password": "s3cret", "ssl_cafile": str(ca),
        "ssl_certfile": None, "ssl_keyfile": None, "ssl_password": None}


@pytest.mark.parametrize(("settings", "message"), [
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "needs WIREFEED_KAFKA_SASL_USERNAME and"),
    ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "they would not be used (SASL_SSL?)"),
    ({"kafka_ssl_cafile": __file__}, "they would not be used (SSL or SASL_SSL?)"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": __file__}, "KEYFILE and _SSL_KEY_PASSWORD need"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_key_password": "k"}, "KEYFILE and _SSL_KEY_PASSWORD need"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"}, "kafka_ssl_cafile"),
    ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
])
def test_incomplete_or_unused_kafka_security_settings_are_refused_at_start(settings: dict[str, str],
                                                                           message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        CommonSettings(**settings)  # type: ignore[arg-type]


def test_no_kafka_client_is_made_outside_the_shared_factories() -> None:
    """Every producer, consumer and admin client takes its connection settings from services.core.kafka."""
    made_elsewhere = []
    for path in SERVICES.rglob("*.py"):
        if path == SERVICES / "core" / "kafka.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in {
                    "KafkaProducer", "KafkaConsumer", "KafkaAdminClient"}:
                made_elsewhere.append(f"{path.relative_to(SERVICES)}:{node.lineno}")
    assert made_elsewhere == []
