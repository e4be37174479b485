"""How the services reach Kafka: the login and TLS settings, checked when the settings are read, and given
to every client. tests/e2e/test_secure_kafka.py runs them against a cluster with TLS and a login."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.cli import main as cli
from services.core.config import CommonSettings
from services.core.kafka import connection
from services.core.oauth import KafkaTokens, TokenRefusedError
from tests.certificates import self_signed_certificate
from tests.helpers import in_thread
from tests.oauth_server import running_token_endpoint

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


OAUTH = {"kafka_oauth_token_url": "https://idp.example/oauth2/token", "kafka_oauth_client_id": "wirefeed",
         "kafka_oauth_client_secret": "client-s3cret"}


def test_an_oauthbearer_login_gives_every_client_one_token_source() -> None:
    settings = CommonSettings(kafka_bootstrap_servers="kafka.example:9093", kafka_security_protocol="SASL_SSL",
                              kafka_sasl_mechanism="OAUTHBEARER", **OAUTH,  # type: ignore[arg-type]
                              kafka_oauth_extensions="logicalCluster=lkc-1, identityPoolId=pool-2")
    config = connection(settings)
    tokens = config.pop("sasl_oauth_token_provider")
    assert isinstance(tokens, KafkaTokens) and tokens.token_url == "https://idp.example/oauth2/token"
    assert tokens.extensions() == {"logicalCluster": "lkc-1", "identityPoolId": "pool-2"}  # Confluent Cloud's
    assert connection(settings)["sasl_oauth_token_provider"] is tokens
    assert config == {"bootstrap_servers": ["kafka.example:9093"], "security_protocol": "SASL_SSL",
                      "sasl_mechanism": "OAUTHBEARER", "ssl_cafile": None, "ssl_certfile": None, "ssl_keyfile": None,
                      "ssl_password": None}
    assert "client-s3cret" not in repr(settings) + repr(tokens.__dict__)


async def test_kafka_tokens_are_asked_for_once_while_they_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # how a private CA is trusted
    with running_token_endpoint(certificate, "token-1") as endpoint:
        tokens = KafkaTokens(endpoint.url, "wirefeed", SecretStr("client-s3cret"), "kafka")
        assert in_thread(tokens.token, 30) == "token-1"
        endpoint.access_token = "token-2"
        assert in_thread(tokens.token, 30) == "token-1"
        assert endpoint.forms == [{"grant_type": "client_credentials", "client_id": "wirefeed",
                                   "client_secret": "client-s3cret", "scope": "kafka"}]
        endpoint.refusal = "invalid_client"
        refused = KafkaTokens(endpoint.url, "wirefeed", SecretStr("wrong"), None)
        for _ in range(3):  # as clients retry their logins: the provider is asked once until the retry time
            with pytest.raises(TokenRefusedError, match=r"127.0.0.1 gave no access token: HTTP 400, invalid_client"):
                in_thread(refused.token, 30)
        assert len(endpoint.forms) == 2
    monkeypatch.delenv("SSL_CERT_FILE")
    with running_token_endpoint(certificate, "token-1") as endpoint, \
            pytest.raises(TokenRefusedError, match="CERTIFICATE_VERIFY_FAILED"):
        in_thread(KafkaTokens(endpoint.url, "wirefeed", SecretStr("client-s3cret"), None).token, 30)


@pytest.mark.parametrize(("settings", "message"), [
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "needs WIREFEED_KAFKA_SASL_USERNAME and"),
    ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "is PLAINTEXT and WIREFEED_KAFKA_SASL_MECHANISM"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER",
      "kafka_oauth_token_url": "https://idp.example/token"}, "OAUTHBEARER needs WIREFEED_KAFKA_OAUTH_TOKEN_URL,"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER", **OAUTH,
      "kafka_sasl_username": "u"}, "SASL_USERNAME/PASSWORD are set"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u", "kafka_sasl_password": "p", **OAUTH},
     "WIREFEED_KAFKA_OAUTH_* settings are set but"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER",
      **OAUTH, "kafka_oauth_token_url": "http://idp.example/token"}, "must be https"),
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER",
      **OAUTH, "kafka_oauth_extensions": "logicalCluster"}, "kafka_oauth_extensions"),
    ({"kafka_oauth_extensions": "logicalCluster=lkc-1"}, "WIREFEED_KAFKA_OAUTH_* settings are set but"),
    ({"kafka_ssl_cafile": __file__}, "they would not be used (SSL or SASL_SSL?)"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": __file__}, "KEYFILE and _SSL_KEY_PASSWORD need"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_key_password": "k"}, "KEYFILE and _SSL_KEY_PASSWORD need"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"}, "kafka_ssl_cafile"),
    ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
])
def test_incomplete_or_unused_kafka_security_settings_are_refused_at_start(settings: dict[str, str],
                                                                           message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        CommonSettings(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(("setting", "value"), [
    ("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1"), ("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", ""),
    ("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:abc"), ("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", "a:9092,b:99999"),
    ("WIREFEED_LOG_LEVEL", "LOUD"), ("WIREFEED_LOG_LEVEL", "5"),
])
def test_a_setting_the_services_could_not_use_is_a_settings_error(setting: str, value: str,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # Each passed the settings and failed later with a traceback: the readiness probe splitting "host:port",
    # structlog looking up the level's name.
    monkeypatch.setenv(setting, value)
    assert cli(["dead-letters", "list"]) == 2
    assert capsys.readouterr().err.startswith("wirefeed: invalid settings: ")


def test_bootstrap_servers_take_host_port_lists_and_log_levels_any_case() -> None:
    settings = CommonSettings(kafka_bootstrap_servers=" kafka-0:9092, [::1]:9093 ", log_level="warning")
    assert settings.log_level == "warning"


def test_a_settings_error_shows_no_secret(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A whole-settings check fails: pydantic's wording would show the settings given, the secret among them.
    for name, value in {"SECURITY_PROTOCOL": "PLAINTEXT", "SASL_USERNAME": "wirefeed",
                        "SASL_PASSWORD": "s3cret-never-shown", "SASL_MECHANISM": "PLAIN"}.items():
        monkeypatch.setenv(f"WIREFEED_KAFKA_{name}", value)
    assert cli(["export"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("wirefeed: invalid settings: WIREFEED_KAFKA_SASL_USERNAME/PASSWORD are set but")
    assert "s3cret" not in error


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


def test_normalizer_and_sink_load_no_http_client_for_a_login_they_do_not_use() -> None:
    """The OAUTHBEARER token source (and httpx under it) is loaded when a cluster wants one."""
    code = ("import sys, services.normalizer.__main__, services.sink.__main__; "
            "print(sorted({'httpx', 'services.core.oauth'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
