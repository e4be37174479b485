"""The feeds file: which feeds to poll and how (``WIREFEED_FEEDS_FILE``, YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from schemas import FeedFormat


class FeedsFileError(Exception):
    """The feeds file is missing, not YAML, or does not describe valid feeds."""


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    url: HttpUrl
    format: FeedFormat | None = None
    title: str | None = None
    interval: float = Field(300.0, gt=0, description="Seconds between polls")
    min_interval: float | None = Field(None, gt=0)
    max_interval: float | None = Field(None, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme not in ("http", "https"):
            raise ValueError("feed URLs must be http or https")
        return url

    @model_validator(mode="after")
    def _bounds(self) -> FeedConfig:
        if self.min_interval and self.max_interval and self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class FeedsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    feeds: list[FeedConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> FeedsFile:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.id in seen:
                raise ValueError(f"feed id {feed.id!r} appears more than once")
            seen.add(feed.id)
        return self


def load_feeds(path: str | Path) -> FeedsFile:
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FeedsFileError(f"{path}: cannot read: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise FeedsFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict) or "feeds" not in data:
        raise FeedsFileError(f"{path}: expected a mapping with a 'feeds:' list")
    try:
        return FeedsFile.model_validate(data)
    except ValidationError as error:
        raise FeedsFileError(f"{path}: {_describe(error)}") from error


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        lines.append(f"{where}: {problem['msg']}")
    return "; ".join(lines)
