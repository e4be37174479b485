from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field

from services.core.config import MAX_DAYS, CommonSettings, DatabaseUrl
from services.core.db import Database
from services.normalizer.boilerplate import MAX_ENTRIES, BoilerplateModel
from services.normalizer.dedup import DedupStore
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.neardup import NearDup, NearDupConfig


class NormalizerSettings(CommonSettings):
    group_id: str | None = Field(None, description="Consumer group; defaults to <topic prefix>-normalizer")
    dedup_database_url: DatabaseUrl | None = Field(None, description="Dedup state; defaults to WIREFEED_DATABASE_URL")
    dedup_window_days: float = Field(7.0, gt=0, le=MAX_DAYS)
    dedup_excerpts: bool = Field(True, description="Group excerpts with their story (anchors and lead "
                                                   "signatures: ~23 more rows per story, slower decisions)")
    boilerplate_max_entries: int = Field(
        MAX_ENTRIES, ge=10_000, description="Paragraph counts and item keys the learned boilerplate model holds "
                                            "for all sources together (~170 bytes each in memory)")
    max_batch: int = Field(500, ge=1)
    metrics_port: int = Field(
        9402, ge=0, le=65535,
        validation_alias=AliasChoices("WIREFEED_NORMALIZER_METRICS_PORT", "WIREFEED_METRICS_PORT"),
    )

    @property
    def consumer_group(self) -> str:
        return self.group_id or f"{self.topic_prefix}-normalizer"

    @property
    def dedup_url(self) -> str:
        return (self.dedup_database_url or self.database_url).get_secret_value()

    @property
    def dedup_window(self) -> timedelta:
        return timedelta(days=self.dedup_window_days)

    def dedup_store(self, db: Database) -> DedupStore:
        return DedupStore(db, self.dedup_window, NearDup(NearDupConfig(excerpts=self.dedup_excerpts)))

    def learned_boilerplate(self, db: Database) -> LearnedBoilerplate:
        """The model as saved in ``db``, within this deployment's memory bound."""
        return LearnedBoilerplate(db, BoilerplateModel(max_entries=self.boilerplate_max_entries)).load()
