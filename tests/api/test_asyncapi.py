"""docs/asyncapi.yaml is a valid AsyncAPI 3.0.0 document (checked against the AsyncAPI
Initiative's published JSON Schema for 3.0.0, from their `@asyncapi/specs` package 6.11.1,
Apache-2.0, kept in tests/fixtures) and says what the server does: the close codes, the event
types of the catalogue, a message for every kind the server sends."""

import json

import jsonschema

from api.realtime import Close
from config.settings import BASE_DIR
from shared_apps.events.catalogue import EVENT_TYPES
from tests.api.asyncapi import asyncapi, message_schemas

SPECIFICATION = BASE_DIR / "tests" / "fixtures" / "asyncapi-3.0.0.schema.json"


def test_the_document_is_valid_asyncapi_3():
    schema = json.loads(SPECIFICATION.read_text())

    jsonschema.Draft7Validator(schema).validate(asyncapi())


def test_an_invalid_document_would_be_caught():
    schema = json.loads(SPECIFICATION.read_text())
    broken = {**asyncapi(), "channels": {"events": {"address": 42}}}

    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_close_codes_are_the_servers():
    documented = {int(code) for code in asyncapi()["info"]["x-close-codes"]}

    assert {int(code) for code in Close} <= documented
    assert documented - {int(code) for code in Close} == {1001}  # uvicorn's own, when it stops


def test_the_event_types_are_the_catalogues():
    event = message_schemas()["event"]["properties"]["event"]

    assert set(event["properties"]["type"]["enum"]) == set(EVENT_TYPES)


def test_every_message_kind_is_documented():
    assert set(message_schemas()) == {
        "auth", "ping", "ready", "resync", "event", "heartbeat", "pong", "token_expiring", "reauthenticated"
    }  # fmt: skip
