"""Write the JSON Schema of every topic's model beside this file: ``python -m schemas.generate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import TOPIC_MODELS

SCHEMA_DIR = Path(__file__).parent


def schema_path(topic: str) -> Path:
    return SCHEMA_DIR / f"{topic}.schema.json"


def render(topic: str) -> str:
    schema = open_objects(TOPIC_MODELS[topic].model_json_schema(mode="serialization"))
    schema["$id"] = f"https://wirefeed.dev/schemas/{topic}.schema.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def open_objects(node: Any) -> Any:
    """A model's JSON Schema with every object open to fields it does not list: a consumer validating with it
    must accept the optional fields a later producer adds (wirefeed's own consumers ignore them too), or
    adding one would not be compatible."""
    if isinstance(node, dict):
        return {key: open_objects(value) for key, value in node.items()
                if (key, value) != ("additionalProperties", False)}
    if isinstance(node, list):
        return [open_objects(value) for value in node]
    return node


def main() -> None:
    for topic in TOPIC_MODELS:
        schema_path(topic).write_text(render(topic))
        print(schema_path(topic))


if __name__ == "__main__":
    main()
