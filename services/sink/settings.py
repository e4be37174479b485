from __future__ import annotations

from pydantic import AliasChoices, Field

from services.core.config import CommonSettings


class SinkSettings(CommonSettings):
    group_id: str | None = Field(None, description="Consumer group; defaults to <topic prefix>-sink")
    max_batch: int = Field(500, ge=1)
    max_batch_latency_ms: int = Field(200, ge=1)
    metrics_port: int = Field(
        9403, ge=0, le=65535,
        validation_alias=AliasChoices("WIREFEED_SINK_METRICS_PORT", "WIREFEED_METRICS_PORT"),
    )

    @property
    def consumer_group(self) -> str:
        return self.group_id or f"{self.topic_prefix}-sink"
