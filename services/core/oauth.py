"""OAuth 2.0 access tokens: the token endpoint's answer read once for every login that needs one (feeds'
and mailboxes' in ``services/poller/oauth.py``), and Kafka's OAUTHBEARER login.

Kafka clusters run by a platform team or a cloud (Confluent Cloud, Strimzi with Keycloak, Azure Event
Hubs) often take no password but a token from the organisation's identity provider: the client asks the
provider's token endpoint with its client credentials (RFC 6749 4.4) and presents the token at each
connection's login. kafka-python asks ``KafkaTokens.token()`` at every login and re-login (KIP-368).
"""

from __future__ import annotations

import math
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from kafka.net.sasl.oauth import AbstractTokenProvider
from pydantic import SecretStr

log = structlog.get_logger(__name__)

#: A token is renewed this long before the provider says it expires (clocks and requests take time).
RENEW_BEFORE_SECONDS = 60.0
#: How long a token is used when the answer gives no ``expires_in`` (a refusal renews it sooner).
UNSTATED_LIFETIME_SECONDS = 600.0
#: Kafka's clients wait this long for the token endpoint (the login waits with them).
TOKEN_TIMEOUT_SECONDS = 10.0
#: After a refusal the endpoint is asked again only after this many seconds, doubling to the cap: clients
#: retry their logins many times a second, which an identity provider would take for an attack.
TOKEN_RETRY_SECONDS, TOKEN_RETRY_CAP_SECONDS = 1.0, 60.0


class TokenRefusedError(Exception):
    """The token endpoint refused the client or its grant, could not be reached, or gave no access token."""


@dataclass(frozen=True)
class GrantedToken:
    access_token: str
    usable_seconds: float  # from when it was asked for: its lifetime less the renewal margin
    refresh_token: str | None  # a new one, where the provider rotates them


def granted_token(token_url: str, status: int, answer: Any) -> GrantedToken:
    """The token in an answer to a token request (RFC 6749 5.1); TokenRefusedError with the provider's own
    error code and description (5.2), which carry no secret."""
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(token, str) or not token:
        raise TokenRefusedError(f"{urlsplit(token_url).hostname} gave no access token: {_refusal(status, answer)}")
    return GrantedToken(token, _lifetime(answer.get("expires_in")) - RENEW_BEFORE_SECONDS,
                        _text(answer.get("refresh_token")))


class KafkaTokens(AbstractTokenProvider):  # type: ignore[misc]
    """Kafka's OAUTHBEARER login by the client-credentials grant: one token, shared by the process's
    clients and held until shortly before it expires. ``SSL_CERT_FILE`` and ``HTTPS_PROXY`` apply to the
    request, as for any client on the host."""

    def __init__(self, token_url: str, client_id: str, client_secret: SecretStr, scope: str | None,
                 extensions: dict[str, str] | None = None) -> None:
        super().__init__()
        self.token_url = token_url
        self._extensions = extensions or {}
        self._form = {"grant_type": "client_credentials", "client_id": client_id}
        self._secret = client_secret
        self._scope = scope
        self._lock = threading.Lock()  # clients log in from their own threads
        self._held: tuple[str, float] | None = None  # the token, and until when (time.monotonic()) to use it
        self._refused: tuple[TokenRefusedError, float, int] | None = None  # the last refusal, retry time, count

    def token(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._held is None or now >= self._held[1]:
                self._held = self._new_token(now)
            return self._held[0]

    def extensions(self) -> dict[str, str]:
        """SASL extensions sent with the token (KIP-342): Confluent Cloud's logicalCluster and identityPoolId."""
        return dict(self._extensions)

    def _new_token(self, now: float) -> tuple[str, float]:
        if self._refused is not None and now < self._refused[1]:
            raise self._refused[0]
        try:
            granted = self._granted()
        except TokenRefusedError as error:
            count = self._refused[2] + 1 if self._refused else 1
            delay = min(TOKEN_RETRY_SECONDS * 2 ** (count - 1), TOKEN_RETRY_CAP_SECONDS)
            self._refused = error, now + delay, count
            # kafka-python takes a failing login for a broker it cannot reach, and logs no cause.
            log.warning("kafka_token_refused", error=str(error)[:500], retry_in_seconds=delay)
            raise
        self._refused = None
        return granted.access_token, now + granted.usable_seconds

    def _granted(self) -> GrantedToken:
        form = {**self._form, "client_secret": self._secret.get_secret_value()}
        if self._scope:
            form["scope"] = self._scope
        try:
            with httpx.Client(timeout=TOKEN_TIMEOUT_SECONDS, verify=ssl.create_default_context()) as client:
                response = client.post(self.token_url, data=form)
        except httpx.HTTPError as error:
            raise TokenRefusedError(f"cannot reach {self.token_url}: {type(error).__name__}: {error}") from error
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return granted_token(self.token_url, response.status_code, answer)


def _lifetime(expires_in: Any) -> float:
    # A number of seconds, which some providers send as a string; "NaN" or "Infinity" (which Python's JSON
    # reader takes) would have the token asked for at every request, or held for ever.
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        seconds = math.nan
    return max(seconds, 0.0) if math.isfinite(seconds) else UNSTATED_LIFETIME_SECONDS + RENEW_BEFORE_SECONDS


def _refusal(status: int, answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        description = _text(answer.get("error_description"))
        return f"HTTP {status}, {answer['error'][:100]}" + (f" ({description[:200]})" if description else "")
    return f"HTTP {status}" + ("" if isinstance(answer, dict) else ", not JSON")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
