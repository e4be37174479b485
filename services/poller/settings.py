from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from services.core.config import MAX_DAYS, CommonSettings, DatabaseUrl
from services.poller.budget import DEFAULT_LIMIT_BYTES

#: How long polls in progress may go on after SIGTERM: under what supervisors wait before SIGKILL
#: (``wirefeed run`` 30 s, Compose 45 s, Kubernetes 60 s), with room left for flushing the producer and
#: writing the finished polls' states.
SHUTDOWN_GRACE_SECONDS = 10.0


class PollerSettings(CommonSettings):
    feeds_file: Path = Path("feeds.yaml")
    feeds_reload_seconds: float = Field(
        10.0, gt=0, description="How often the running poller checks the feeds file for changes (SIGHUP: at once)")
    state_database_url: DatabaseUrl | None = Field(
        None, description="Poller state; defaults to WIREFEED_DATABASE_URL")
    allow_private_networks: bool = False
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    max_decompressed_bytes: int = Field(64 * 1024 * 1024, gt=0)
    max_body_bytes_in_flight: int = Field(
        DEFAULT_LIMIT_BYTES, gt=0, description="Decompressed body bytes all polls in flight may hold together; "
        "a read past it fails and its feed is retried at its next interval (budget.py)")
    connect_timeout_seconds: float = Field(10.0, gt=0)
    read_timeout_seconds: float = Field(30.0, gt=0)
    total_timeout_seconds: float = Field(60.0, gt=0)
    max_concurrency: int = Field(64, ge=1)
    per_host_concurrency: int = Field(4, ge=1)
    # A proxy URL may carry user:password, so it is masked like the database URLs.
    http_proxy: SecretStr | None = None

    @field_validator("http_proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        # httpx refused "127.0.0.1:3128" only when the first fetch built its transport, with a traceback.
        if value is not None and not value.get_secret_value().lower().startswith(("http://", "https://")):
            raise ValueError("the proxy must be a URL beginning http:// or https:// (http://host:3128)")
        return value
    metrics_port: int = Field(
        9401, ge=0, le=65535,
        validation_alias=AliasChoices("WIREFEED_POLLER_METRICS_PORT", "WIREFEED_METRICS_PORT"),
    )
    poller_lease_seconds: float = Field(
        30.0, gt=0, le=24 * 3600,
        description="How long a poller's claim on a feed lasts unless renewed; bounds take-over")
    poller_id: str | None = Field(None, description="Lease owner name; defaults to host-pid-random")
    shutdown_grace_seconds: float = Field(
        SHUTDOWN_GRACE_SECONDS, ge=0, le=3600,
        description="On SIGTERM, how long polls in progress may go on; the rest are cancelled and polled again "
                    "next time")
    seen_items_retention_days: int = Field(
        30, ge=0, le=MAX_DAYS,
        description="Forget a published item once its feed has gone this long without listing it (counted "
                    "from the feed's last listing, so a failing or unchanged feed keeps its items); 0 keeps "
                    "every item for good")
    @model_validator(mode="after")
    def _budget_holds_a_poll(self) -> PollerSettings:
        # A body, and what it unpacks (an archive served as a file) twice over: its pieces and their join,
        # or a compressed tar and its documents.
        most = self.max_decompressed_bytes * 2 + self.max_body_bytes + 1
        if self.max_body_bytes_in_flight < most:
            raise ValueError(f"WIREFEED_MAX_BODY_BYTES_IN_FLIGHT={self.max_body_bytes_in_flight} is less than "
                             f"2 x WIREFEED_MAX_DECOMPRESSED_BYTES + WIREFEED_MAX_BODY_BYTES + 1 = {most}: a poll "
                             "of a body the poller accepts, with the documents it may unpack, could be refused")
        return self

    @field_validator("seen_items_retention_days")
    @classmethod
    def _longer_than_listing_resolution(cls, days: int) -> int:
        # An item still listed may have a last_seen_at up to a day old (it is refreshed daily).
        if days == 1:
            raise ValueError("must be 0 (keep every item) or at least 2 days")
        return days

    max_pages: int = Field(10, ge=1, description="RFC 5005 paged feeds: pages followed per poll")
    spool_settle_seconds: float = Field(
        5.0, ge=0, description="Spool directory feeds: a file is read once it has not changed for this long, so "
        "an upload in progress is not read half-written")
    sftp_known_hosts: Path | None = Field(
        None, description="SFTP feeds: the OpenSSH known_hosts file their servers' host keys must be in "
        "(default ~/.ssh/known_hosts); an unknown or changed key refuses the connection")
    websub_callback_url: str | None = Field(
        None, description="Public base URL of the WebSub callback (…/<feed id> is appended); unset: no WebSub")
    websub_host: str = "0.0.0.0"  # hubs call in from outside
    websub_port: int = Field(9411, ge=0, le=65535)
    websub_lease_seconds: int = Field(86400, ge=60, description="Subscription lease asked of hubs")
    websub_allow_insecure_hub: bool = Field(
        False, description="Subscribe through http:// hubs too, sending them the subscription's secret in clear "
        "text (a local hub in development); otherwise only https hubs are subscribed to")

    @property
    def state_url(self) -> str:
        return (self.state_database_url or self.database_url).get_secret_value()

    @property
    def proxy_url(self) -> str | None:
        return self.http_proxy.get_secret_value() if self.http_proxy else None
