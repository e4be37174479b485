from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from services.core.config import MAX_DAYS, MAX_POSTGRES_TIMEOUT_SECONDS, CommonSettings
from services.sink.api_limits import MAX_ANSWER_BYTES, MAX_ANSWERS_BYTES_IN_FLIGHT


class SinkSettings(CommonSettings):
    group_id: str | None = Field(None, description="Consumer group; defaults to <topic prefix>-sink")
    max_batch: int = Field(500, ge=1)
    max_batch_latency_ms: int = Field(200, ge=1)
    metrics_port: int = Field(
        9403, ge=0, le=65535,
        validation_alias=AliasChoices("WIREFEED_SINK_METRICS_PORT", "WIREFEED_METRICS_PORT"),
    )
    retention_days: int = Field(30, ge=0, le=MAX_DAYS,
                                description="Delete articles stored longer ago than this; 0 keeps all")
    retention_interval_seconds: float = Field(300.0, gt=0, description="Pause between retention passes")
    lag_interval_seconds: float = Field(5.0, gt=0, description="How often end offsets are read for the lag gauge")
    read_api_token: SecretStr | None = Field(
        None, description="When set, the read API requires `Authorization: Bearer <token>`"
    )
    read_api_statement_timeout_seconds: float = Field(
        10.0, ge=0, le=MAX_POSTGRES_TIMEOUT_SECONDS,
        description="A read API query running longer is cancelled (504): a search for a word in every article "
                    "of a large store must not hold the database; 0: no limit")
    read_api_max_answer_bytes_in_flight: int = Field(
        MAX_ANSWERS_BYTES_IN_FLIGHT, ge=2 * MAX_ANSWER_BYTES,
        description="The bytes all read API answers still being sent may hold together (each is held until its "
                    "client takes it); past them a request is answered 503. At least two answers at their largest")

    @property
    def consumer_group(self) -> str:
        return self.group_id or f"{self.topic_prefix}-sink"
