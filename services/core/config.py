"""Typed settings from ``WIREFEED_*`` environment variables (pydantic-settings).

Each service extends :class:`CommonSettings`; the composition root builds one settings object at start-up.
Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    FilePath,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Kafka's default limit for one record batch is 1 MiB (message.max.bytes = 1,048,588): a record of up to
#: this many bytes fits in it with its batch's overhead. Raise it together with the brokers'.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
#: A real batch holds records of at most the topics' message size plus what a producer's batch size adds
#: (a few MiB decompressed); a consumer holds this much, and a step more, before refusing a batch.
DEFAULT_MAX_BATCH_BYTES = 256 * 1024 * 1024


#: A statement that waits this long for a lock gives up with a transient error (the batch is retried), so
#: a replica waiting on another's transaction still gets back to its poll loop, heartbeats and SIGTERM.
LOCK_TIMEOUT_SECONDS = 15.0
#: The server ends a session that sits this long inside a transaction: a replica frozen between two
#: statements (SIGSTOP, a paused VM) cannot hold its row locks, and the replicas waiting on them, forever.
#: Wirefeed's transactions never wait on anything but the database, so a live one is never that idle.
IDLE_IN_TRANSACTION_TIMEOUT_SECONDS = 30.0


def is_settings_error(error: ValidationError) -> bool:
    """The error is about settings (a settings class refused its variables), not about some other model."""
    return _settings_class(error) is not None


def settings_problems(error: ValidationError, environ: Mapping[str, str] | None = None) -> str:
    """What is wrong with the settings, each problem under the environment variable the operator set,
    without the values given: pydantic's own wording shows them, and they hold passwords."""
    kind = _settings_class(error)
    variables = setting_variables(kind) if kind else {}
    set_here = os.environ if environ is None else environ
    return "; ".join(_problem(problem, variables, set_here)
                     for problem in error.errors(include_input=False, include_url=False))


def settings_error_exit(error: ValidationError) -> int:
    """The exit code of a command or service stopped by settings it cannot use, their problems printed;
    any other model's error is raised again: a fault of the program's own, which wants its traceback."""
    if not is_settings_error(error):
        raise error
    print(f"wirefeed: invalid settings: {settings_problems(error)}", file=sys.stderr)
    return 2


def _settings_class(error: ValidationError) -> type[CommonSettings] | None:
    return next((kind for kind in _settings_classes() if kind.__name__ == error.title), None)  # pydantic's title


def _problem(problem: ErrorDetails, variables: dict[str, list[str]], environ: Mapping[str, str]) -> str:
    message = problem["msg"].removeprefix("Value error, ")
    if not problem["loc"]:  # a check of several settings together: its message names them
        return message
    return f"{_where(problem['loc'], variables, environ)}: {message}"


def _where(loc: tuple[int | str, ...], variables: dict[str, list[str]], environ: Mapping[str, str]) -> str:
    """The variable a problem's value came from. pydantic names the field, or for a setting with several
    names the first of them, whichever was set: WIREFEED_METRICS_PORT=abc was blamed on
    WIREFEED_NORMALIZER_METRICS_PORT. The field's name when no variable was set: the value came from code."""
    first, *rest = map(str, loc)
    names = variables.get(first) or next((names for names in variables.values() if first in names), [])
    spelled = {name.upper(): name for name in environ}  # the settings read variables in any case
    given = [spelled[name.upper()] for name in names if name.upper() in spelled]
    return ".".join([given[0] if given else first, *rest])  # of several set, the first is the one read


def setting_variables(kind: type[CommonSettings]) -> dict[str, list[str]]:
    """The environment variables each field of a settings class reads, by field, in the order it reads them."""
    variables = {}
    for name, field in kind.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            variables[name] = [choice for choice in alias.choices if isinstance(choice, str)]
        else:
            variables[name] = [alias if isinstance(alias, str) else f"{kind.model_config['env_prefix']}{name}".upper()]
    return variables


def _settings_classes() -> list[type[CommonSettings]]:
    """CommonSettings and every class extending it that is imported (each service's settings)."""
    found, unseen = [], [CommonSettings]
    while unseen:
        kind = unseen.pop()
        found.append(kind)
        unseen.extend(kind.__subclasses__())
    return found


_QUERY_PASSWORD = re.compile(r"(?:^|&)password=([^&#]*)")


def database_url_problem(url: str) -> str | None:
    """Why a database URL cannot be used as written, without its secrets; None when it can be read.

    libpq's own message quotes the part it could not read: a password with a bare "%" in it
    ("S3cr%ZZet", which is no percent-encoding) was printed whole by every command and service."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an unbalanced "[": its message quotes nothing
        return f"not a URL: {error}"
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        return None
    # Imported here, not at the top: psycopg takes ~80 ms to load, which every command's start (even --help)
    # paid though only a PostgreSQL URL needs it.
    import psycopg  # noqa: PLC0415
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        conninfo_to_dict(url)
    except psycopg.Error as error:
        problem = _without_secrets(" ".join(str(error).split()), parts)
        return f"{problem}: a \"%\" is written %25" if "percent-encod" in problem else problem
    return None


def _without_secrets(text: str, parts: SplitResult) -> str:
    secrets = [parts.password or "", *_QUERY_PASSWORD.findall(parts.query)]
    for secret in sorted(filter(None, {*secrets, *map(unquote, secrets)}), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def readable_database_url(value: SecretStr | None) -> SecretStr | None:
    """A settings validator's check: the problem, if any, named by pydantic under the variable set."""
    if value is not None and (problem := database_url_problem(value.get_secret_value())):
        raise ValueError(f"not a database URL wirefeed can use: {problem}")
    return value


#: A database URL setting, refused at start-up (under its variable) when libpq could not read it.
DatabaseUrl = Annotated[SecretStr, AfterValidator(readable_database_url)]


@dataclass(frozen=True)
class SessionOptions:
    """How wirefeed's PostgreSQL sessions are set up (SQLite takes only the statement timeout). Timeouts in
    seconds, 0 for none.

    ``transaction_pooling`` is for a pooler in transaction mode (PgBouncer's ``pool_mode = transaction``)
    between wirefeed and the server, which hands each transaction whatever server session is free: a
    setting made once per session would reach other clients' transactions and miss some of ours, and
    a statement prepared in one session is unknown in the next. So each transaction makes its settings
    as its own (``SET LOCAL``) and no statement is prepared on the server.
    """

    lock_timeout: float = LOCK_TIMEOUT_SECONDS
    idle_in_transaction_timeout: float = IDLE_IN_TRANSACTION_TIMEOUT_SECONDS
    transaction_pooling: bool = False
    # A statement running longer is cancelled (QueryTimeoutError); for the read API, whose callers choose
    # the query. SQLite bounds the whole transaction instead.
    statement_timeout: float = 0.0


DEFAULT_SESSION = SessionOptions()


#: The longest timeout PostgreSQL takes (its settings are milliseconds in a 32-bit integer): about 24 days.
MAX_POSTGRES_TIMEOUT_SECONDS = 2_147_483
#: The longest age a setting in days may give: a hundred years; a longer one overflows a date.
MAX_DAYS = 36_500


class CommonSettings(BaseSettings):
    # Every number a setting holds is finite: "inf" seconds reached PostgreSQL, or a date, and failed there.
    # An error never quotes what was given: settings hold passwords, and a traceback reaches the logs.
    model_config = SettingsConfigDict(env_prefix="WIREFEED_", frozen=True, extra="ignore", allow_inf_nan=False,
                                      hide_input_in_errors=True)

    # host:port, comma-separated (an IPv6 host in brackets): every client and the readiness probe read it.
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("WIREFEED_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    # A managed or production cluster wants TLS and a login: SASL_SSL with SCRAM (or PLAIN), or with
    # OAUTHBEARER and a token from the identity provider (client credentials), the CA that signed the
    # brokers' certificates (the system's CAs when unset), a client certificate for mutual TLS (its key's
    # password when the key is encrypted).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_oauth_token_url: HttpUrl | None = None
    kafka_oauth_client_id: str | None = None
    kafka_oauth_client_secret: SecretStr | None = None
    kafka_oauth_scope: str | None = None
    # SASL extensions sent with the token, as "key=value,key=value" (Confluent Cloud: logicalCluster and
    # identityPoolId).
    kafka_oauth_extensions: str | None = Field(None, pattern=r"^\s*[^=,\s]+=[^,]*(,\s*[^=,\s]+=[^,]*)*\s*$")
    kafka_ssl_cafile: FilePath | None = None
    kafka_ssl_certfile: FilePath | None = None
    kafka_ssl_keyfile: FilePath | None = None
    kafka_ssl_key_password: SecretStr | None = None
    # Codec of the record batches the services produce. Raw items (HTML and the feed's original XML)
    # shrink several times over; consumers read every codec whatever this says.
    kafka_compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    topic_prefix: str = "wirefeed"
    topic_partitions: int = Field(6, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    # With acks=all a write is durable on this many replicas before it is acknowledged. Kafka's own
    # default is 1: a leader alone could acknowledge, and losing its disk lost what it had acknowledged.
    topic_min_insync_replicas: int | None = Field(
        None, ge=1, description="min.insync.replicas of the topics a service creates; default: 2 when the "
                                "replication factor is 3 or more, else 1")
    # Letters wait for a person to read and redrive them; a week (Kafka's default) is one holiday.
    dead_letter_retention_days: float = Field(
        30.0, gt=0, le=36_500, description="retention.ms of the dead-letter topic when a service creates it")
    max_poll_interval_ms: int = Field(300_000, ge=1_000, description="Kafka max.poll.interval.ms")
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, ge=64 * 1024, le=64 * 1024 * 1024,
                                   description="Largest message a service produces; larger ones are shortened")
    # A consumer holds a batch decompressed, up to this much; one decompressing further (a bomb) is
    # dead-lettered by its offsets. Memory bounds it from above, the largest honest batch from below.
    kafka_max_batch_bytes: int = Field(
        DEFAULT_MAX_BATCH_BYTES, ge=64 * 1024, le=2 * 1024**3,
        description="Largest size a record batch a service consumes may decompress to; larger ones are "
                    "dead-lettered by their offsets")
    database_url: DatabaseUrl = SecretStr("sqlite:///wirefeed.db")
    database_lock_timeout_seconds: float = Field(
        LOCK_TIMEOUT_SECONDS, ge=0, le=MAX_POSTGRES_TIMEOUT_SECONDS,
        description="PostgreSQL lock_timeout of wirefeed's sessions; 0: wait without limit")
    database_idle_in_transaction_timeout_seconds: float = Field(
        IDLE_IN_TRANSACTION_TIMEOUT_SECONDS, ge=0, le=MAX_POSTGRES_TIMEOUT_SECONDS,
        description="PostgreSQL idle_in_transaction_session_timeout of wirefeed's sessions; 0: none")
    database_transaction_pooling: bool = Field(
        False, description="A pooler in transaction mode (PgBouncer pool_mode=transaction) stands before "
                           "PostgreSQL: settings per transaction, no server-side prepared statements")
    metrics_host: str = "0.0.0.0"  # a container must expose its metrics port
    metrics_port: int = Field(9400, ge=0, le=65535)
    log_level: str = Field("INFO", pattern="(?i)^(debug|info|warning|error|critical)$")
    log_format: str = Field("auto", pattern="^(auto|json|console)$")
    exit_unhealthy_after_seconds: float = Field(
        60.0, ge=0, description="A service whose liveness fails this long exits (code 70) to be restarted; 0: never")
    loop_stall_seconds: float = Field(
        300.0, ge=0, description="A service whose main loop has not come round this long (stuck in a call) "
                                 "fails liveness; 0: never")

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers_with_ports(cls, value: str) -> str:
        # The readiness probe and the admin commands dial each one: "127.0.0.1" failed there, with a traceback.
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host.strip("[]") or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server.strip()!r} is no host:port: give host:port, comma-separated "
                                 "(127.0.0.1:9092)")
        return value

    @model_validator(mode="after")
    def _kafka_login_complete(self) -> CommonSettings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        oauth = sasl and self.kafka_sasl_mechanism == "OAUTHBEARER"
        password = (self.kafka_sasl_username, self.kafka_sasl_password)
        token = (self.kafka_oauth_token_url, self.kafka_oauth_client_id, self.kafka_oauth_client_secret)
        if oauth and not all(token):
            raise ValueError("WIREFEED_KAFKA_SASL_MECHANISM=OAUTHBEARER needs WIREFEED_KAFKA_OAUTH_TOKEN_URL, "
                             "WIREFEED_KAFKA_OAUTH_CLIENT_ID and WIREFEED_KAFKA_OAUTH_CLIENT_SECRET")
        if sasl and not oauth and not all(password):
            raise ValueError(f"WIREFEED_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "WIREFEED_KAFKA_SASL_USERNAME and WIREFEED_KAFKA_SASL_PASSWORD")
        if (not sasl or oauth) and any(password):
            raise ValueError("WIREFEED_KAFKA_SASL_USERNAME/PASSWORD are set but WIREFEED_KAFKA_SECURITY_PROTOCOL "
                             f"is {self.kafka_security_protocol} and WIREFEED_KAFKA_SASL_MECHANISM "
                             f"{self.kafka_sasl_mechanism}: they would not be used")
        if not oauth and any((*token, self.kafka_oauth_scope, self.kafka_oauth_extensions)):
            raise ValueError("WIREFEED_KAFKA_OAUTH_* settings are set but the login is not SASL with "
                             "WIREFEED_KAFKA_SASL_MECHANISM=OAUTHBEARER: they would not be used")
        if self.kafka_oauth_token_url and self.kafka_oauth_token_url.scheme != "https":
            raise ValueError("WIREFEED_KAFKA_OAUTH_TOKEN_URL must be https: the client secret travels in the request")
        return self

    @model_validator(mode="after")
    def _kafka_tls_complete(self) -> CommonSettings:
        tls_files = (self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile,
                     self.kafka_ssl_key_password)
        if not self.kafka_security_protocol.endswith("SSL") and any(tls_files):
            raise ValueError("WIREFEED_KAFKA_SSL_* settings are set but WIREFEED_KAFKA_SECURITY_PROTOCOL is "
                             f"{self.kafka_security_protocol}: they would not be used (SSL or SASL_SSL?)")
        if (self.kafka_ssl_keyfile or self.kafka_ssl_key_password) and not self.kafka_ssl_certfile:
            raise ValueError("WIREFEED_KAFKA_SSL_KEYFILE and _SSL_KEY_PASSWORD need WIREFEED_KAFKA_SSL_CERTFILE")
        return self

    @model_validator(mode="after")
    def _batches_hold_a_message(self) -> CommonSettings:
        if self.kafka_max_batch_bytes < self.max_message_bytes:
            raise ValueError(f"WIREFEED_KAFKA_MAX_BATCH_BYTES={self.kafka_max_batch_bytes} is less than "
                             f"WIREFEED_MAX_MESSAGE_BYTES={self.max_message_bytes}: a batch of one message "
                             "could not be read")
        return self

    @model_validator(mode="after")
    def _min_insync_within_replicas(self) -> CommonSettings:
        if (self.topic_min_insync_replicas or 1) > self.topic_replication_factor:
            raise ValueError(f"WIREFEED_TOPIC_MIN_INSYNC_REPLICAS={self.topic_min_insync_replicas} is more than "
                             f"WIREFEED_TOPIC_REPLICATION_FACTOR={self.topic_replication_factor}: no write could "
                             "ever be acknowledged")
        return self

    @property
    def min_insync_replicas(self) -> int:
        """Of the topics a service creates: one replica may be down and writes go on, durable on two."""
        if self.topic_min_insync_replicas is not None:
            return self.topic_min_insync_replicas
        return 2 if self.topic_replication_factor >= 3 else 1

    @property
    def oauth_extensions(self) -> dict[str, str]:
        pairs = (pair.partition("=") for pair in (self.kafka_oauth_extensions or "").split(",") if pair.strip())
        return {key.strip(): value.strip() for key, _, value in pairs}

    @property
    def database_session(self) -> SessionOptions:
        return SessionOptions(lock_timeout=self.database_lock_timeout_seconds,
                              idle_in_transaction_timeout=self.database_idle_in_transaction_timeout_seconds,
                              transaction_pooling=self.database_transaction_pooling)

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def raw_items(self) -> str:
        return f"{self.prefix}.raw-items.v1"

    @property
    def articles(self) -> str:
        return f"{self.prefix}.articles.v1"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter.v1"

    def all(self) -> list[str]:
        return [self.raw_items, self.articles, self.dead_letter]
