from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from services.core.config import CommonSettings


class PollerSettings(CommonSettings):
    feeds_file: Path = Path("feeds.yaml")
    state_database_url: SecretStr | None = Field(
        None, description="Poller state; defaults to WIREFEED_DATABASE_URL")
    allow_private_networks: bool = False
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    max_decompressed_bytes: int = Field(64 * 1024 * 1024, gt=0)
    connect_timeout_seconds: float = Field(10.0, gt=0)
    read_timeout_seconds: float = Field(30.0, gt=0)
    total_timeout_seconds: float = Field(60.0, gt=0)
    max_concurrency: int = Field(64, ge=1)
    per_host_concurrency: int = Field(4, ge=1)
    http_proxy: str | None = None
    metrics_port: int = Field(
        9401, ge=0, le=65535,
        validation_alias=AliasChoices("WIREFEED_POLLER_METRICS_PORT", "WIREFEED_METRICS_PORT"),
    )

    @property
    def state_url(self) -> str:
        return (self.state_database_url or self.database_url).get_secret_value()
