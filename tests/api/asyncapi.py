"""The live-updates contract (docs/asyncapi.yaml): every message a test receives from the
socket server is checked against the message of its type there."""

from functools import cache
from typing import Any

import jsonschema
import yaml

from config.settings import BASE_DIR

DOCUMENT = BASE_DIR / "docs" / "asyncapi.yaml"


@cache
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text())


@cache
def message_schemas() -> dict[str, dict[str, Any]]:
    """Each message's payload schema by its `type`, able to resolve the document's references."""
    components = asyncapi()["components"]
    return {
        message["payload"]["properties"]["type"]["const"]: {**message["payload"], "components": components}
        for message in components["messages"].values()
    }


def assert_documented(message: dict[str, Any]) -> None:
    jsonschema.validate(message, message_schemas()[message["type"]], format_checker=jsonschema.FormatChecker())
