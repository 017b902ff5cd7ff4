"""Vapi's own types (the official vapi-server-sdk's pydantic models) as a contract: what we
answer or send validates against them, with no field they do not know (the models accept
unknown fields, which would hide a misspelt one)."""

from typing import Any, TypeVar

import pydantic


def _unknown_fields(value: Any, path: str) -> list[str]:
    if isinstance(value, pydantic.BaseModel):
        found = [f"{path}.{name}" for name in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _unknown_fields(getattr(value, name), f"{path}.{name}")
        return found
    if isinstance(value, list | tuple):
        return [field for index, item in enumerate(value) for field in _unknown_fields(item, f"{path}[{index}]")]
    return []


Model = TypeVar("Model", bound=pydantic.BaseModel)


def assert_vapi_type(model: type[Model], data: Any) -> Model:
    """`data` parsed as Vapi's `model`; fails on a missing or mistyped field and on any field
    Vapi's model does not have."""
    parsed = model.model_validate(data)
    unknown = _unknown_fields(parsed, model.__name__)
    assert not unknown, f"Fields Vapi's {model.__name__} does not know: {unknown}"
    return parsed
