"""Paginated lists, read as values and serialised once.

`@paginate` is Ninja's limit/offset pagination (same parameters, OpenAPI and envelope) with a
faster way to answer: when every field of the item schema is a plain column of the queryset's
model (or an annotation) and of a type whose JSON we produce exactly as Ninja would, the page
is read with `values_list` (no model instances, no pydantic validation) and encoded by msgspec
in one pass, formatted with the separators and ASCII escapes of `json.dumps`, so the bytes are
those of Ninja's rendering. Any other schema (resolvers, nested objects, floats, aliases) takes
Ninja's validated path unchanged (docs/api.md, "Conventions").
"""

import codecs
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache, partial, wraps
from typing import Any, cast, get_args, get_origin
from uuid import UUID

import msgspec
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import CharField, DateTimeField, F, Func, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.operation import Operation
from ninja.pagination import make_response_paginated
from ninja.renderers import JSONRenderer
from ninja.utils import contribute_operation_args, contribute_operation_callback

from api.schemas import BoundedLimitOffsetPagination

# The old renderer's own conversions (Ninja's encoder is Django's for these types), so a
# date-time keeps its millisecond precision and `Z`, a Decimal is its string.
_DJANGO_JSON = DjangoJSONEncoder()
_CONVERTED: dict[type, Callable[[Any], Any]] = {
    datetime: _DJANGO_JSON.default,
    date: _DJANGO_JSON.default,
    time: _DJANGO_JSON.default,
    Decimal: str,
    UUID: str,
}
# What msgspec writes exactly as `json.dumps` does (floats are not: `1e16` against `1e+16`).
_NATIVE: frozenset[type] = frozenset({int, str, bool})

_encoder = msgspec.json.Encoder()
# What Ninja's JSON renderer answers with.
CONTENT_TYPE = f"{JSONRenderer.media_type}; charset={JSONRenderer.charset}"


def _ascii_escapes(error: UnicodeError) -> tuple[str, int]:
    """`json.dumps`'s `ensure_ascii` escapes (`\\u00e9`, surrogate pairs above U+FFFF) for
    each character the ASCII codec cannot write."""
    assert isinstance(error, UnicodeEncodeError)
    escaped = []
    for character in error.object[error.start : error.end]:
        code = ord(character)
        if code > 0xFFFF:
            code -= 0x10000
            escaped.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            escaped.append(f"\\u{code:04x}")
    return "".join(escaped), error.end


codecs.register_error("json_ascii_escape", _ascii_escapes)


def encode(data: Any) -> bytes:
    """`data` (dicts, lists, str, int, bool, None) as `json.dumps(data)` writes it, faster."""
    body = msgspec.json.format(_encoder.encode(data), indent=0)
    if not body.isascii():
        body = body.decode().encode("ascii", "json_ascii_escape")
    if b"\x7f" in body:  # ASCII, yet escaped by `json.dumps` (only ever inside a string)
        body = body.replace(b"\x7f", b"\\u007f")
    return body


class _NotPlanned(Exception):
    """A field only Ninja's validated path writes."""


def _unwrapped(annotation: Any) -> tuple[Any, bool]:
    """The type under `Annotated` and `| None`, and whether None is admitted."""
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation, False
    members = [member for member in get_args(annotation) if member is not type(None)]
    if len(members) != 1:
        raise _NotPlanned
    return _unwrapped(members[0])[0], True


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    """How a value of a field so annotated becomes JSON: None when msgspec writes it as is, else
    the function converting it; raises _NotPlanned for any other type."""
    kind, optional = _unwrapped(annotation)
    if get_origin(kind) is typing.Literal:
        if all(type(choice) in _NATIVE for choice in get_args(kind)):
            return None
        raise _NotPlanned
    if kind in _NATIVE:
        return None
    if kind not in _CONVERTED:
        raise _NotPlanned
    return partial(_unless_none, _CONVERTED[kind]) if optional else _CONVERTED[kind]


def _unless_none(convert: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else convert(value)


class InstantText(Func):
    """A timestamptz written by PostgreSQL as Django's JSON encoder writes the datetime Django
    would load from it (in UTC): seconds, then milliseconds (cut, not rounded) when there is
    any fraction, then `Z`; NULL stays NULL. Saves parsing a datetime only to format it."""

    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        " || CASE WHEN to_char(%(expressions)s, 'US') = '000000' THEN '' ELSE to_char(%(expressions)s, '.MS') END"
        " || 'Z'"
    )
    output_field = CharField()


class RowPlan(typing.NamedTuple):
    columns: tuple[str, ...]
    names: tuple[str, ...]
    # (position, conversion) of the columns that need one.
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]
    # Columns PostgreSQL writes as text: {name in the query: expression}.
    texts: dict[str, Func]

    def rows(self, queryset: QuerySet) -> list[dict[str, Any]]:
        names, conversions = self.names, self.conversions
        answered = []
        for values in queryset.annotate(**self.texts).values_list(*self.columns):
            if conversions:
                values = list(values)
                for position, convert in conversions:
                    values[position] = convert(values[position])
            answered.append(dict(zip(names, values, strict=True)))
        return answered


def _column(model: type[Model], source: str, annotations: frozenset[str]) -> str | None:
    """The `values_list` lookup of a field read from `source` (its name, or its alias: Ninja
    reads `user.email` through the relation), or None when that is no column."""
    if source in annotations:
        return source
    *relations, last = source.split(".")
    for name in relations:
        try:
            relation = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        related = relation.related_model
        if not (relation.many_to_one or relation.one_to_one) or not isinstance(related, type):
            return None
        model = related
    attnames = {field.attname for field in model._meta.concrete_fields}
    return "__".join([*relations, last]) if last in attnames else None


@lru_cache(maxsize=256)
def row_plan(schema: type[Schema], model: type[Model], annotations: frozenset[str]) -> RowPlan | None:
    """How to answer rows of `model` as `schema` straight from their column values, or None when
    a field is anything but a column (or annotation) of a type `_converter` knows."""
    if any(name.startswith("resolve_") for name in vars(schema)):
        return None
    columns: list[str] = []
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    texts: dict[str, Func] = {}
    for position, (name, field) in enumerate(schema.model_fields.items()):
        try:
            convert = _converter(field.annotation)
        except _NotPlanned:
            return None
        # An alias is where Ninja reads the field (pydantic copies it to `validation_alias`).
        source = field.validation_alias or name
        column = _column(model, source, annotations) if isinstance(source, str) else None
        if column is None:
            return None
        if _is_instant(model, column) and _unwrapped(field.annotation)[0] is datetime:
            texts[f"_text_{position}"] = InstantText(F(column))
            column = f"_text_{position}"
        elif convert is not None:
            conversions.append((position, convert))
        columns.append(column)
    return RowPlan(
        columns=tuple(columns), names=tuple(schema.model_fields), conversions=tuple(conversions), texts=texts
    )


def _is_instant(model: type[Model], lookup: str) -> bool:
    """Whether the `values_list` lookup names a DateTimeField (a timestamptz)."""
    *relations, last = lookup.split("__")
    for name in relations:
        related = model._meta.get_field(name).related_model
        if not isinstance(related, type):
            return False
        model = related
    try:
        return isinstance(model._meta.get_field(last), DateTimeField)
    except FieldDoesNotExist:
        return False


def paginate(view: Callable[..., Any]) -> Callable[..., Any]:
    """Ninja's `@paginate` (this project's bounded limit/offset), answering planned pages from
    values: use it on every list whose view returns a queryset."""
    paginator = BoundedLimitOffsetPagination()
    listed: dict[str, Any] = {}

    def remember_item_schema(operation: Operation) -> None:
        (status, response_model), *_ = operation.response_models.items()
        (item_schema,) = get_args(response_model.model_fields["response"].annotation)
        listed["item_schema"] = item_schema
        # Options that change which keys or values Ninja writes are left to Ninja.
        listed["plain"] = status == 200 and not (
            operation.by_alias or operation.exclude_unset or operation.exclude_defaults or operation.exclude_none
        )

    @wraps(view)
    def listing(request: HttpRequest, **kwargs: Any) -> Any:
        pagination = kwargs.pop("ninja_pagination")
        rows = view(request, **kwargs)
        plan = (
            row_plan(listed["item_schema"], cast(type[Model], rows.model), frozenset(rows.query.annotations))
            if listed["plain"] and isinstance(rows, QuerySet) and rows.query.values_select == ()
            else None
        )
        if plan is None:
            page = paginator.paginate_queryset(rows, pagination=pagination)
            page["items"] = list(page["items"])
            return page
        offset, limit = pagination.offset, pagination.limit
        # Prefetches feed no planned field (each is a column of the row itself).
        page = rows.prefetch_related(None)[offset : offset + limit]
        body = encode({"items": plan.rows(page), "count": rows.count()})
        return HttpResponse(body, content_type=CONTENT_TYPE)

    contribute_operation_args(listing, "ninja_pagination", paginator.Input, paginator.InputSource)
    contribute_operation_callback(listing, remember_item_schema)
    contribute_operation_callback(listing, partial(make_response_paginated, paginator))
    return listing
