"""Topic contracts: pydantic models of every message, and the topic each lives on."""

from schemas.models import (
    Article,
    Dateline,
    DeadLetter,
    Enclosure,
    FeedFormat,
    Message,
    PubStatus,
    RawItem,
    SchemaVersionError,
    Source,
)

#: Topic name (without the deployment prefix) -> the model of its messages.
TOPIC_MODELS: dict[str, type[Message]] = {
    "raw-items.v1": RawItem,
    "articles.v1": Article,
    "dead-letter.v1": DeadLetter,
}

__all__ = [
    "TOPIC_MODELS",
    "Article",
    "Dateline",
    "DeadLetter",
    "Enclosure",
    "FeedFormat",
    "Message",
    "PubStatus",
    "RawItem",
    "SchemaVersionError",
    "Source",
]
