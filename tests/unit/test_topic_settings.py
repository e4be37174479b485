"""Settings of the topics: how durable the ones a service creates are (min.insync.replicas from the
replication factor), and what a consumer may hold of a batch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.core.config import CommonSettings


@pytest.mark.parametrize(("replicas", "insync"), [(1, 1), (2, 1), (3, 2), (5, 2)])
def test_one_replica_may_be_down_and_writes_are_still_durable_on_two(replicas: int, insync: int) -> None:
    settings = CommonSettings(topic_replication_factor=replicas)  # type: ignore[call-arg]
    assert settings.min_insync_replicas == insync


def test_the_setting_overrides_and_cannot_exceed_the_replicas() -> None:
    assert CommonSettings(topic_replication_factor=5,  # type: ignore[call-arg]
                          topic_min_insync_replicas=3).min_insync_replicas == 3
    with pytest.raises(ValidationError, match="no write could ever be acknowledged"):
        CommonSettings(topic_replication_factor=2, topic_min_insync_replicas=3)  # type: ignore[call-arg]


def test_a_batch_must_be_allowed_to_hold_the_largest_message() -> None:
    assert CommonSettings(kafka_max_batch_bytes=2**20).kafka_max_batch_bytes == 2**20  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="a batch of one message could not be read"):
        CommonSettings(kafka_max_batch_bytes=2**20, max_message_bytes=2 * 2**20)  # type: ignore[call-arg]
